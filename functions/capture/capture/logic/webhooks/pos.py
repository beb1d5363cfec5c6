"""POS / store-system webhook → canonical events (Segment e-commerce spec names).

- ``sale`` → ``track "Order Completed"``: ``order_id`` (the transaction id), ``total``, ``revenue`` (total less
  tax, when tax is given), ``tax``, ``discount``, ``currency``, ``products[]`` in the spec's shape (``product_id``,
  ``sku``, ``name``, ``category``, ``brand``, ``variant``, ``quantity``, ``price``), ``store_id``;
- ``return`` → ``track "Order Refunded"``: the same, ``order_id`` being the returned sale when the store names it;
- ``visit`` → ``track "Store Visited"``: ``store_id`` and ``visit_id``.

Channel ``store``; identifiers ``loyalty_card``, ``pos_customer``, ``email``, ``phone`` when the store knows them
(an invalid one is dropped). ``message_id`` is ``<store_id>:<type>:<transaction_id>``: a resent record is the same
event, and two stores' receipt numbers never collide.

Money stays exact: amounts are ``Decimal`` in the model and decimal strings in the event (``"129.90"``), never
floats; the only arithmetic (revenue = total - tax) is done on ``Decimal``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from capture.logic.capture_service import IncomingEvent
from capture.logic.event_builder import IdentifierCollector, build_event
from capture.logic.webhooks.mapping import Mapped, MappingContext
from capture.models.pos import PosEvent, PosItem, PosReturn, PosSale, PosVisit
from capture.models.segment import CAPTURE_JSON, EARLIEST_EVENT, MAX_AHEAD
from omnichannel.canonical_event import Channel, EventType
from omnichannel.identifiers import IdentifierType
from omnichannel.json_input import NotJson, inspect_json

SOURCE = "pos"
ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
STORE_VISITED = "Store Visited"

_POS_EVENT: TypeAdapter[PosSale | PosReturn | PosVisit] = TypeAdapter(PosEvent)
_TAGS = frozenset({"sale", "return", "visit"})
# Money is read as exact decimals; the same gate as the tracking API otherwise (finite, bounded, no repeated keys).
POS_JSON = replace(CAPTURE_JSON, decimals=True)


class InvalidPosPayload(Exception):
    """The body is not a valid POS event; ``problems`` are ``(field, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


def _field(location: tuple[int | str, ...], error_type: str) -> str:
    if error_type.startswith("union_tag"):
        return "type"
    parts = list(location)
    if parts and parts[0] in _TAGS:  # the discriminated union names the branch first
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"


def parse_pos_payload(body: bytes | str, received_at: datetime | None = None) -> PosSale | PosReturn | PosVisit:
    """Validate a POS request body. JSON numbers are read as Decimal, so no amount ever passes through a float.
    With ``received_at``, ``occurred_at`` must fall in the window every channel keeps (2000 to a day ahead)."""
    try:
        data, problems = inspect_json(body, POS_JSON)
    except NotJson as exc:
        raise InvalidPosPayload([("body", "not valid JSON")]) from exc
    if problems:
        raise InvalidPosPayload([(problem.field(), problem.message) for problem in problems])
    if not isinstance(data, dict):
        raise InvalidPosPayload([("body", "must be a JSON object")])
    try:
        record = _POS_EVENT.validate_python(data)
    except ValidationError as exc:
        raise InvalidPosPayload(
            [(_field(error["loc"], error["type"]), error["msg"]) for error in exc.errors(include_url=False)]
        ) from exc
    when = record.occurred_at
    if received_at is not None and when is not None:
        if when < EARLIEST_EVENT:
            raise InvalidPosPayload([("occurred_at", f"before {EARLIEST_EVENT:%Y-%m-%d}")])
        if when > received_at + MAX_AHEAD:
            raise InvalidPosPayload([("occurred_at", "more than a day after it was received")])
    return record


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _product(item: PosItem) -> dict[str, Any]:
    product = {
        "product_id": item.product_id or item.sku,
        "sku": item.sku,
        "name": item.name,
        "category": item.category,
        "brand": item.brand,
        "variant": item.variant,
        "quantity": item.quantity,
        "price": _money(item.price),
    }
    return {key: value for key, value in product.items() if value is not None}


def _transaction_properties(record: PosSale | PosReturn) -> dict[str, Any]:
    revenue = record.total - record.tax if record.tax is not None else record.total
    order_id = record.transaction_id
    if isinstance(record, PosReturn) and record.original_transaction_id:
        order_id = record.original_transaction_id
    return {
        "order_id": order_id,
        "transaction_id": record.transaction_id,
        "total": _money(record.total),
        "revenue": _money(revenue),
        "tax": _money(record.tax),
        "discount": _money(record.discount),
        "currency": record.currency,
        "products": [_product(item) for item in record.items],
    }


def map_pos(record: PosSale | PosReturn | PosVisit, store_id: str, context: MappingContext, raw: str) -> Mapped:
    """A validated POS record as one canonical event."""
    identifiers = IdentifierCollector(default_region=context.default_region)
    if record.customer is not None:
        identifiers.add(IdentifierType.LOYALTY_CARD, record.customer.loyalty_card, "customer.loyalty_card")
        identifiers.add(IdentifierType.POS_CUSTOMER, record.customer.pos_customer_id, "customer.pos_customer_id")
        identifiers.add(IdentifierType.EMAIL, record.customer.email, "customer.email")
        identifiers.add(IdentifierType.PHONE, record.customer.phone, "customer.phone")
    properties: dict[str, Any] = {"store_id": store_id}
    if isinstance(record, PosVisit):
        name = STORE_VISITED
        properties["visit_id"] = record.transaction_id
    else:
        name = ORDER_COMPLETED if isinstance(record, PosSale) else ORDER_REFUNDED
        properties.update(_transaction_properties(record))
    event = build_event(
        source=SOURCE,
        message_id=f"{store_id}:{record.type}:{record.transaction_id}",
        event_type=EventType.TRACK,
        name=name,
        channel=Channel.STORE,
        identifiers=identifiers.found,
        occurred_at=record.occurred_at,
        received_at=context.received_at,
        properties=properties,
    )
    return Mapped(events=[IncomingEvent(event=event, raw=raw)], dropped_identifiers=list(identifiers.dropped))
