"""Entry points of the capture function, one module per trigger (api: the HTTP API)."""
