"""Outbound: what the product sends to customers, and the store offers it makes.

- ``delivery/``: the outbox's message, the senders (SES e-mail, SNS SMS, WhatsApp Cloud API), the dispatcher that
  claims, sends, retries and defers each message once;
- ``store_offers/``: online to store (pure): the decision on an abandoned cart, the record, the recheck before send;
- ``dal/``: the outbound table (outbox, offers, caps, stores, stock, holds, offer tickets) and read-only lookups in
  the profiles, carts and handoff tables;
- ``handlers/`` and ``routes/``: the entry points (bus batches, the schedule, the stream, the stores API).
"""
