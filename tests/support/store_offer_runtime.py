"""What the store-offer tests share through the local runtime (tests/e2e/test_store_offer_journey.py and
tests/integration/outbound/test_offer_recheck.py): Istanbul's clock, the customer's home and the Moda store, and a
runtime wrapper with a fake WhatsApp server, one clock, staff headers, profiles found by user id and outbound's
offer and outbox items read as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE
from tests.e2e.test_cart_journey import settle
from tests.support.fake_whatsapp import FakeWhatsApp

ISTANBUL = ZoneInfo("Europe/Istanbul")
HOME = {"lat": 40.9900, "lon": 29.0300}  # Kadıköy
MODA = {"name": "Moda", "lat": 41.0135, "lon": 29.0500, "time_zone": "Europe/Istanbul"}  # ~3 km from HOME


def next_local(hour: int, minute: int = 0) -> datetime:
    """The next moment it is ``hour:minute`` in Istanbul (as UTC): a clock close to the real one."""
    now = datetime.now(ISTANBUL)
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment <= now:
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


@dataclass
class StoreOfferRuntime:
    rt: LocalRuntime
    whatsapp: FakeWhatsApp
    clock: list[datetime]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.rt.token(role, sub=f"{role}-1")}

    def identified(self, user_id: str, detail: dict[str, Any]) -> str:
        """Put an identify event (its bus detail) through profiles; the profile id an agent finds by user id."""
        self.rt.put_event("identify", detail, source=CAPTURE_SOURCE)
        settle(self.rt)
        answer = self.rt.request(
            "GET", "/profiles", query={"identifier": f"user_id:{user_id}"}, headers=self.headers("agent")
        )
        assert answer.status == 200, answer.body
        return str(answer.json()["profile_id"])

    def item(self, table: str, pk: str, sk: str) -> dict[str, Any]:
        item = self.rt.client("dynamodb").get_item(
            TableName=self.rt.table_name(table), Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )["Item"]
        return {name: next(iter(value.values())) for name, value in item.items()}

    def decision(self, cart_id: str) -> dict[str, Any]:
        return self.item("OutboundTable", f"OFFER#{cart_id}#1", "OFFER")

    def outbox(self, message_id: str) -> dict[str, Any]:
        return self.item("OutboundTable", f"OUTBOX#{message_id}", "OUTBOX")
