"""Cart sync."""
