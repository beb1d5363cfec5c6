"""Entry points of the handoff function, one module per trigger (api: conversations and tickets; stores_api:
the store directory)."""
