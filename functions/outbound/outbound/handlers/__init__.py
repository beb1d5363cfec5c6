"""Entry points of the outbound function, one module per trigger (bus_batch: store offers, message requests and
released holds; schedule_delivery: due messages; stream_outbound: the outbound table's announcements; stores_api:
the store directory)."""
