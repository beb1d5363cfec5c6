"""Entry points of the profiles function, one module per trigger (api: the HTTP API)."""
