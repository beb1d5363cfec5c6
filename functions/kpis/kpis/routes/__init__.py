"""HTTP routes of the KPI API."""
