"""The time-travelling harness for journeys: the whole product in the local runtime (template.yaml: capture's
bus, profiles, KPIs, handoff, journeys, outbound) with one clock for the journeys and outbound functions that the
test moves.

A test creates customers (an ``identify`` that profiles resolves), feeds events as their producers put them on
the bus (capture, KPIs, carts), moves the clock by days in milliseconds (``advance``: every wait, quiet-hours
deferral and survey deadline on the way is taken at its own time, by the same minute sweep that runs on AWS),
and asserts what each customer received and when. Retailers test their own journeys the same way
(``make test-journeys`` runs ``tests/journeys``; see ``journeys/README.md``)::

    def test_my_journey(journeys: JourneyHarness) -> None:
        ayse = journeys.customer("ayse", whatsapp="905321110001", consent={"whatsapp": True})
        journeys.track(ayse, "Store Visited", channel="store", properties={"store_id": "IST-1"})
        journeys.advance(days=1)
        assert [m.template for m in journeys.messages(ayse)] == ["post_visit_nps"]

Holdout groups are stable per customer: ``customer(...)`` picks the customer's id so that they are in the
treatment group of every journey, except those named in ``held_out_of``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from journeys.dal.definition_files import definitions_folder, load_folder
from journeys.logic.holdout import held_out
from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CAPTURE_SOURCE, Channel, utc_iso
from omnichannel.cart_events import CARTS_SOURCE
from omnichannel.channel_replies import PROVIDER_CHANNELS
from omnichannel.journey_events import JOURNEYS_SOURCE, SURVEY_ANSWERED, JourneyEventType
from omnichannel.kpi_events import KPIS_SOURCE, KpiEventType, lifecycle_event_id
from omnichannel.profile_directory import ProfileDirectory
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileEventType,
    ProfileMerged,
    ProfileUnmerged,
    profile_event_id,
)
from profiles.logic.resolution import new_profile_id
from tests.webhook_samples import meta_signature

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
JOURNEY_FUNCTIONS = (
    "JourneysEventsFunction",
    "JourneysScheduleFunction",
    "JourneysApiFunction",
    "JourneysSurveyFunction",
)
# Outbound's functions share the clock: a journey's message is sent, and its end (message.sent / message.failed)
# dated, on the test's timeline; a store offer's quiet hours are read on it too.
OUTBOUND_FUNCTIONS = ("OutboundOfferFunction", "OutboundRequestsFunction", "OutboundDeliveryFunction")
ISTANBUL = ZoneInfo("Europe/Istanbul")
# A Monday morning in Istanbul: quiet hours (21:00-09:00) are hours away.
DEFAULT_START = datetime(2026, 3, 2, 10, 0, tzinfo=ISTANBUL)
HARNESS_NAMESPACE = uuid.UUID("8f3a6c2e-4b1d-4e7a-9c05-6d2e1f0a7b93")
MAX_STEPS_PER_ADVANCE = 2000


@dataclass(frozen=True)
class Customer:
    name: str
    user_id: str
    profile_id: str
    whatsapp: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Sent:
    """A message a journey requested for the customer (``message.requested``)."""

    at: datetime
    channel: str
    to: str
    template: str
    text: str | None
    subject: str | None
    journey: str
    step: str
    message_id: str


class JourneyHarness:
    def __init__(self, rt: LocalRuntime, start: datetime) -> None:
        self.rt = rt
        self._now = start.astimezone(UTC)
        self._sequence = 0
        self.definitions = {definition.id: definition for definition in load_folder(definitions_folder())}
        self.journey_ids = sorted(self.definitions)
        for function_id in JOURNEY_FUNCTIONS:
            self.rt.function_module(function_id, "journeys.wiring").override(clock=lambda: self._now)
        for function_id in OUTBOUND_FUNCTIONS:
            self.rt.function_module(function_id, "outbound.wiring").override(clock=lambda: self._now)

    @classmethod
    @contextmanager
    def start(
        cls,
        at: datetime = DEFAULT_START,
        *,
        parameters: dict[str, str] | None = None,
        http_port: int | None = None,
    ) -> Iterator[JourneyHarness]:
        """``http_port``: None serves no socket (``rt.request`` still works), 0 a free port (a browser's)."""
        with LocalRuntime.start(
            TEMPLATE, mode="inprocess", parameters=parameters, bus_log_size=5000, http_port=http_port
        ) as rt:
            yield cls(rt, at)

    # ------------------------------------------------------------------ time
    @property
    def now(self) -> datetime:
        return self._now

    def local(self, zone: ZoneInfo = ISTANBUL) -> datetime:
        return self._now.astimezone(zone)

    def at(self, moment: datetime) -> None:
        """Set the clock (forward only: what is due on the way is taken, as ``advance`` does)."""
        self.advance(seconds=(moment - self._now).total_seconds())

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> None:
        """Move the clock forward, stopping at each moment something is due and running the sweep then."""
        target = self._now + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if target < self._now:
            raise ValueError("the clock only moves forward")
        for _ in range(MAX_STEPS_PER_ADVANCE):
            due = self._next_due(target)
            if due is None:
                break
            self._now = max(self._now, due)
            self.sweep()
        else:
            raise RuntimeError(f"more than {MAX_STEPS_PER_ADVANCE} due moments before {utc_iso(target)}")
        self._now = target
        self.sweep()

    def sweep(self) -> None:
        """The minute schedule, now."""
        self.settle()
        self.rt.fire_schedule("JourneysScheduleFunction")
        self.settle()

    def settle(self) -> None:
        for _ in range(5):
            if not self.rt.drain():
                return

    def _next_due(self, until: datetime) -> datetime | None:
        client, table = self.rt.client("dynamodb"), self.rt.table_name("JourneysTable")
        upper = utc_iso(until) + "#\uffff"
        found: list[str] = []
        for shard in range(8):
            answer = client.query(
                TableName=table,
                IndexName="by_due",
                KeyConditionExpression="due_pk = :p AND due_sk <= :u",
                ExpressionAttributeValues={":p": {"S": f"DUE#{shard}"}, ":u": {"S": upper}},
                Limit=1,
            )
            found += [item["due_sk"]["S"].split("#", 1)[0] for item in answer.get("Items", [])]
        if not found:
            return None
        due = datetime.fromisoformat(min(found).replace("Z", "+00:00"))
        return due if due > self._now else self._now

    # ------------------------------------------------------------------ customers
    def customer(
        self,
        name: str,
        *,
        whatsapp: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        held_out_of: Sequence[str] = (),
        **traits: Any,
    ) -> Customer:
        """A customer with a profile (an identify through profiles), in the treatment group of every journey but
        those in ``held_out_of``. ``traits``: first_name, consent={"whatsapp": True}, preferred_channel, vip ..."""
        for attempt in range(500):
            user_id = f"cus_{name}_{attempt}"
            event_id = str(uuid.uuid5(HARNESS_NAMESPACE, f"identify:{user_id}"))
            profile_id = new_profile_id(event_id)
            if all(self.in_holdout(journey, profile_id) == (journey in held_out_of) for journey in self.journey_ids):
                break
        else:
            raise RuntimeError(f"no customer id puts {name} in the groups asked for")
        identifiers = {"user_id": user_id}
        if whatsapp:
            identifiers["whatsapp"] = whatsapp
        if phone or whatsapp:
            identifiers["phone"] = phone or f"+{whatsapp}"
        if email:
            identifiers["email"] = email
        traits.setdefault("first_name", name.title())
        detail = self._captured("identify", "app", identifiers, {}, event_id=event_id, type_="identify")
        detail["traits"] = traits
        self.rt.put_event("identify", detail, source=CAPTURE_SOURCE)
        self.settle()
        found = ProfileDirectory(self.rt.table_name("ProfilesTable"), self.rt.client("dynamodb")).profile_of(
            "user_id", user_id
        )
        assert found == profile_id, f"profiles resolved {user_id} to {found}, expected {profile_id}"
        return Customer(name, user_id, profile_id, whatsapp, identifiers.get("phone"), email)

    def in_holdout(self, journey_id: str, profile_id: str) -> bool:
        return held_out(journey_id, profile_id, self.definitions[journey_id].entry.holdout)

    def update_traits(self, customer: Customer, **traits: Any) -> None:
        detail = self._captured("identify", "app", {"user_id": customer.user_id}, {}, type_="identify")
        detail["traits"] = traits
        self.rt.put_event("identify", detail, source=CAPTURE_SOURCE)
        self.settle()

    # ------------------------------------------------------------------ events, as their producers publish them
    def _captured(
        self,
        name: str,
        channel: str,
        identifiers: dict[str, str],
        properties: dict[str, Any],
        *,
        event_id: str | None = None,
        type_: str = "track",
    ) -> dict[str, Any]:
        self._sequence += 1
        at = utc_iso(self._now)
        detail: dict[str, Any] = {
            "event_id": event_id or str(uuid.uuid4()),
            "message_id": f"harness-{self._sequence}",
            "source": "harness",
            "type": type_,
            "channel": channel,
            "identifiers": identifiers,
            "occurred_at": at,
            "received_at": at,
            # on WhatsApp, SMS and the other provider channels only a signed webhook speaks for the customer
            "provenance": "verified" if Channel(channel) in PROVIDER_CHANNELS else "asserted",
            "properties": properties,
        }
        if type_ == "track":
            detail["name"] = name
        return detail

    def track(
        self,
        customer: Customer,
        event: str,
        *,
        channel: str = "web",
        properties: dict[str, Any] | None = None,
        identifiers: dict[str, str] | None = None,
        times: int = 1,
    ) -> str:
        """A captured event on the bus (``times`` > 1: the same event delivered again). Its id."""
        detail = self._captured(event, channel, identifiers or {"user_id": customer.user_id}, properties or {})
        for _ in range(times):
            self.rt.put_event(event, detail, source=CAPTURE_SOURCE)
            self.settle()
        return str(detail["event_id"])

    def reply(self, customer: Customer, text: str, *, channel: str = "whatsapp", times: int = 1) -> str:
        """An inbound WhatsApp or SMS message (``Message Received``, as capture maps a signed webhook)."""
        if channel == "whatsapp":
            identifiers = {"whatsapp": str(customer.whatsapp), "phone": str(customer.phone)}
        else:
            identifiers = {"phone": str(customer.phone)}
        return self.track(
            customer,
            "Message Received",
            channel=channel,
            properties={"text": text},
            identifiers=identifiers,
            times=times,
        )

    def whatsapp_webhook_reply(self, customer: Customer, text: str) -> None:
        """The same reply through capture's real, signed WhatsApp Cloud API webhook (``/webhooks/whatsapp``)."""
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "908501234567", "phone_number_id": "1065403522"},
                                "contacts": [{"profile": {"name": customer.name}, "wa_id": customer.whatsapp}],
                                "messages": [
                                    {
                                        "from": customer.whatsapp,
                                        "id": f"wamid.{uuid.uuid4().hex}",
                                        "timestamp": str(int(self._now.timestamp())),
                                        "type": "text",
                                        "text": {"body": text},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        answer = self.rt.request(
            "POST",
            "/webhooks/whatsapp",
            headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
            body=body,
        )
        assert answer.status == 200, answer.body
        self.settle()

    def lifecycle(
        self,
        customer: Customer,
        stage: str,
        *,
        previous: str | None = None,
        frequency: int = 1,
        monetary: str = "0",
        times: int = 1,
    ) -> None:
        """``lifecycle.changed`` as the KPI function announces it."""
        self._sequence += 1
        detail = {
            "event_id": lifecycle_event_id(f"p-{customer.profile_id}", self._sequence),
            "occurred_at": utc_iso(self._now),
            "customer_id": f"p-{customer.profile_id}",
            "profile_id": customer.profile_id,
            "previous_stage": previous,
            "stage": stage,
            "sequence": self._sequence,
            "recency_days": 0,
            "frequency": frequency,
            "monetary": monetary,
            "currency": "TRY",
        }
        for _ in range(times):
            self.rt.put_event(KpiEventType.LIFECYCLE_CHANGED.value, detail, source=KPIS_SOURCE)
            self.settle()

    def merge(self, survivor: Customer, merged: Customer, *, times: int = 1) -> str:
        """``profile.merged`` as the profiles function announces it (the journeys' side of a merge). Its merge id."""
        merge_id = str(uuid.uuid5(HARNESS_NAMESPACE, f"merge:{survivor.profile_id}:{merged.profile_id}"))
        detail = ProfileMerged(
            event_id=profile_event_id("merged", merge_id),
            occurred_at=self._now,
            merge_id=merge_id,
            survivor_id=survivor.profile_id,
            merged_id=merged.profile_id,
            rule="email",
        ).model_dump(mode="json")
        for _ in range(times):
            self.rt.put_event(ProfileEventType.MERGED.value, detail, source=PROFILES_SOURCE)
            self.settle()
        return merge_id

    def unmerge(self, survivor: Customer, restored: Customer, merge_id: str, *, times: int = 1) -> None:
        """``profile.unmerged``: an admin undid the merge."""
        detail = ProfileUnmerged(
            event_id=profile_event_id("unmerged", merge_id),
            occurred_at=self._now,
            merge_id=merge_id,
            survivor_id=survivor.profile_id,
            restored_id=restored.profile_id,
        ).model_dump(mode="json")
        for _ in range(times):
            self.rt.put_event(ProfileEventType.UNMERGED.value, detail, source=PROFILES_SOURCE)
            self.settle()

    def cart_abandoned(
        self,
        customer: Customer,
        *,
        value: str = "100.00",
        lines: Sequence[dict[str, Any]] = (),
        times: int = 1,
    ) -> str:
        """Carts' ``cart.abandoned`` for a new cart of the customer (delivered ``times``); its cart id."""
        self._sequence += 1
        cart_id = f"cart-{self._sequence}"
        detail = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": utc_iso(self._now),
            "cart_id": cart_id,
            "profile_id": customer.profile_id,
            "episode": 1,
            "lines": list(lines),
            "value": value,
            "currency": "TRY",
            "last_activity_at": utc_iso(self._now - timedelta(hours=1)),
        }
        for _ in range(times):
            self.rt.put_event("cart.abandoned", detail, source=CARTS_SOURCE)
            self.settle()
        return cart_id

    def erase(self, customer: Customer) -> None:
        """The admin's erasure (``DELETE /profiles/{id}``): profiles announces ``profile.erased``."""
        answer = self.rt.request("DELETE", f"/profiles/{customer.profile_id}", headers=self.headers("admin"))
        assert answer.status in (200, 202, 204), answer.body
        self.settle()

    # ------------------------------------------------------------------ what happened
    def headers(self, role: str = "agent") -> dict[str, str]:
        return {"Authorization": "Bearer " + self.rt.token(role, sub=f"{role}-harness")}

    def published(self, detail_type: str) -> list[dict[str, Any]]:
        """The journeys' bus events of one kind, oldest first (each once, however often it was published)."""
        seen: dict[str, dict[str, Any]] = {}
        for event in self.rt.bus_log():
            if event.get("source") == JOURNEYS_SOURCE and event.get("detail-type") == detail_type:
                detail = event["detail"]
                seen.setdefault(str(detail["event_id"]), detail)
        return list(seen.values())

    def publications(self, detail_type: str) -> int:
        """How many times journeys put events of this kind on the bus (a republished one counts again)."""
        return sum(
            1
            for event in self.rt.bus_log()
            if event.get("source") == JOURNEYS_SOURCE and event.get("detail-type") == detail_type
        )

    def messages(self, customer: Customer) -> list[Sent]:
        return [
            Sent(
                at=datetime.fromisoformat(str(detail["occurred_at"]).replace("Z", "+00:00")),
                channel=str(detail["channel"]),
                to=str(detail["to"]),
                template=str(detail["template"]),
                text=detail.get("text"),
                subject=detail.get("subject"),
                journey=str(detail["journey_id"]),
                step=str(detail["step_id"]),
                message_id=str(detail["message_id"]),
            )
            for detail in self.published(JourneyEventType.MESSAGE_REQUESTED.value)
            if detail["profile_id"] == customer.profile_id
        ]

    def tasks(self, customer: Customer) -> list[dict[str, Any]]:
        return [
            detail
            for detail in self.published(JourneyEventType.AGENT_TASK_REQUESTED.value)
            if detail["profile_id"] == customer.profile_id
        ]

    def rewards(self, customer: Customer) -> list[dict[str, Any]]:
        return [
            detail
            for detail in self.published(JourneyEventType.REWARD_GRANTED.value)
            if detail["profile_id"] == customer.profile_id
        ]

    def store_offers(self, customer: Customer) -> list[dict[str, Any]]:
        """``store_offer.requested``: the customer's abandoned carts journeys asked handoff to offer in a store."""
        return [
            detail
            for detail in self.published(JourneyEventType.STORE_OFFER_REQUESTED.value)
            if detail["profile_id"] == customer.profile_id
        ]

    def answers(self, customer: Customer) -> list[dict[str, Any]]:
        """``Survey Answered`` events journeys announced for the customer (reply or link answers)."""
        return [
            detail
            for detail in self.published(SURVEY_ANSWERED)
            if str(detail["message_id"]).endswith(f":{customer.profile_id}")
        ]

    def journeys_of(self, customer: Customer) -> dict[str, Any]:
        answer = self.rt.request("GET", f"/journeys/customers/{customer.profile_id}", headers=self.headers())
        assert answer.status == 200, answer.body
        found: dict[str, Any] = answer.json()
        return found

    def run(self, customer: Customer, journey_id: str) -> dict[str, Any] | None:
        return next((run for run in self.journeys_of(customer)["journeys"] if run["journey_id"] == journey_id), None)

    def funnel(self, journey_id: str) -> dict[str, Any]:
        answer = self.rt.request("GET", f"/journeys/{journey_id}", headers=self.headers())
        assert answer.status == 200, answer.body
        found: dict[str, Any] = answer.json()["funnel"]
        return found
