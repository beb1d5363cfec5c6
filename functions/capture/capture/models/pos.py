"""The POS webhook contract: what a store system posts to ``/webhooks/pos/{store_id}`` (signed: see
capture/logic/signatures.py).

One JSON object per sale, return or visit::

    {"type": "sale", "transaction_id": "T-1001", "occurred_at": "2026-01-01T10:15:00+03:00",
     "customer": {"loyalty_card": "...", "pos_customer_id": "...", "email": "...", "phone": "..."},
     "currency": "TRY", "total": "129.90", "tax": "19.81",
     "items": [{"sku": "SKU-1", "name": "...", "quantity": 1, "price": "129.90"}]}

- ``transaction_id``: the store system's unique id of the record (receipt number, return number, visit id); a
  resend with the same id is the same event.
- ``occurred_at``: ISO 8601 with a UTC offset (a local time without one is ambiguous, so it is refused) or unix
  seconds; when absent, the time we received it.
- money (``total``, ``tax``, ``discount``, ``price``) as strings (preferred) or JSON numbers, read as exact
  decimals, at most 4 decimal places; ``currency`` an ISO 4217 code. Sales and returns need both.
- ``customer``: any of the identifiers the store knows; an invalid one is dropped, not a reason to refuse.
- unknown fields are ignored (the contract can grow without breaking older store systems).
- size: the body at most 128 KB (413 above), at most 200 ``items`` with a ``sku`` of at most 64 characters. The
  body is stored whole next to its canonical event, in which each item's ``product_id`` defaults to its ``sku``
  (so an item's text can appear twice): these limits keep the largest valid record well inside one DynamoDB item
  (400 KB) and one EventBridge entry (256 KB), so a valid sale is never refused by the storage after it was
  accepted. tests/integration/capture/test_webhooks.py builds that largest record and checks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MAX_ITEMS = 200


class _PosModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PosCustomer(_PosModel):
    loyalty_card: str | None = Field(default=None, max_length=256)
    pos_customer_id: str | None = Field(default=None, max_length=256)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)


class PosItem(_PosModel):
    sku: Sku
    product_id: Id | None = None
    name: Text | None = None
    category: Text | None = None
    brand: Text | None = None
    variant: Text | None = None
    quantity: int = Field(gt=0, le=100_000)
    price: Money = Field(description="Unit price")


class _PosEventBase(_PosModel):
    transaction_id: Id
    occurred_at: AwareDatetime | None = None
    customer: PosCustomer | None = None


class _PosTransaction(_PosEventBase):
    currency: Currency
    total: Money
    tax: Money | None = None
    discount: Money | None = None
    items: list[PosItem] = Field(default_factory=list, max_length=MAX_ITEMS)

    @field_validator("tax", "discount")
    @classmethod
    def _not_above_total(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        total = info.data.get("total")
        if value is not None and isinstance(total, Decimal) and value > total:
            raise ValueError("cannot be more than total")
        return value


class PosSale(_PosTransaction):
    type: Literal["sale"]


class PosReturn(_PosTransaction):
    type: Literal["return"]
    original_transaction_id: Id | None = Field(default=None, description="The sale being returned, when known")


class PosVisit(_PosEventBase):
    type: Literal["visit"]


PosEvent = Annotated[PosSale | PosReturn | PosVisit, Field(discriminator="type")]
