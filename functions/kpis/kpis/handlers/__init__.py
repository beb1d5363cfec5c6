"""Entry points of the KPI function, one module per trigger (api: the HTTP API)."""
