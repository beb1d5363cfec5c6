"""Entry points of the carts function, one module per trigger (api: the HTTP API)."""
