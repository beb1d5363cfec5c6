"""The carts function: one cart per customer on every device, followed from analytics traffic, merged on login."""
