"""All KPI table access."""
