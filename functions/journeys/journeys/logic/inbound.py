"""Bus events -> what the journey service does about them (pure): react (with the customer to find), erase, merge,
record how a journey's message ended, or ignore. Details are parsed with the producers' own models
(``omnichannel.*_events``), envelopes with Powertools' ``EventBridgeModel``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from journeys.logic.clock import iso
from journeys.logic.delivery import JOURNEY_REASON_PREFIX
from journeys.logic.registry import MESSAGE_RECEIVED, SURVEY_ANSWERED
from journeys.logic.surveys import SCALES
from journeys.models.state import ConsentMark, Delivery
from journeys.models.stimulus import Stimulus, StimulusKind, TrackedAnswer
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, EventType
from omnichannel.cart_events import CARTS_SOURCE, CartAbandoned, CartEventType
from omnichannel.channel_replies import consent_reply, speaks_for_customer
from omnichannel.handoff_events import HANDOFF_SOURCE, HandoffEventType, OutboundMessageFailed, OutboundMessageSent
from omnichannel.kpi_events import KPIS_SOURCE, KpiEventType, LifecycleChanged
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    ProfileCreated,
    ProfileErased,
    ProfileEventType,
    ProfileMerged,
    ProfileUnmerged,
    ProfileUpdated,
)

# Identifier types in the order a captured event's customer is looked up (the strongest first).
LOOKUP_ORDER = (
    "user_id",
    "email",
    "phone",
    "whatsapp",
    "loyalty_card",
    "pos_customer",
    "messenger",
    "instagram",
    "device_id",
    "anonymous_id",
)


@dataclass(frozen=True)
class React:
    stimulus: Stimulus
    profile_id: str | None = None  # known (to follow to its survivor)
    identifiers: dict[str, str] = field(default_factory=dict)  # to look up, strongest first


@dataclass(frozen=True)
class Erase:
    profile_ids: list[str]


@dataclass(frozen=True)
class Merge:
    merged_id: str
    survivor_id: str
    event_id: str


@dataclass(frozen=True)
class Unmerge:
    restored_id: str
    survivor_id: str
    event_id: str


@dataclass(frozen=True)
class Delivered:
    """Outbound announced the end of a journey's message (sent, failed or cancelled)."""

    profile_id: str  # the profile it was requested for (maybe merged away since)
    message_id: str
    delivery: Delivery


@dataclass(frozen=True)
class Ignore:
    reason: str


Command = React | Erase | Merge | Unmerge | Delivered | Ignore


def consent_change(event: CanonicalEvent) -> ConsentMark | None:
    """A STOP / START reply on SMS or WhatsApp from the customer (``omnichannel.channel_replies``)."""
    reply = consent_reply(event)
    return ConsentMark(reply.opted_in, iso(reply.at), reply.keyword) if reply else None


def tracked_answer(event: CanonicalEvent) -> TrackedAnswer | None:
    if event.name != SURVEY_ANSWERED:
        return None
    for kind in SCALES:
        value = event.properties.get(kind)
        if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
            low, high = SCALES[kind]
            if low <= int(value) <= high:
                journey = event.properties.get("journey_id")
                step = event.properties.get("survey_step")
                return TrackedAnswer(
                    kind,
                    int(value),
                    journey if isinstance(journey, str) else None,
                    step if isinstance(step, str) else None,
                )
    return None


def _captured(detail: dict[str, Any]) -> Command:
    event = CanonicalEvent.model_validate(detail)
    name = event.name if event.type is EventType.TRACK and event.name else event.type.value
    # A survey is answered by the customer's reply on its channel: never by a message a public key claims there
    text = event.properties.get("text") if name == MESSAGE_RECEIVED and speaks_for_customer(event) else None
    stimulus = Stimulus(
        kind=StimulusKind.CAPTURED,
        name=name,
        event_id=event.event_id,
        occurred_at=iso(event.occurred_at),
        channel=event.channel.value,
        document=event.to_bus_detail(),
        properties=dict(event.properties),
        text=text if isinstance(text, str) else None,
        consent=consent_change(event),
        answer=tracked_answer(event),
    )
    identifiers = {kind.value: value for kind, value in event.identifiers.items()}
    ordered = {kind: identifiers[kind] for kind in LOOKUP_ORDER if identifiers.get(kind)}
    if not ordered:
        return Ignore("no identifier")
    return React(stimulus, identifiers=ordered)


def command_for(envelope: dict[str, Any], registry_names: set[str]) -> Command:
    """What to do about one EventBridge event. ``registry_names``: the captured events any journey listens to."""
    event = EventBridgeModel.model_validate(envelope)
    detail = event.detail if isinstance(event.detail, dict) else {}
    source, kind = event.source, event.detail_type
    if source == CAPTURE_SOURCE:
        if kind not in registry_names:
            return Ignore(f"no journey listens to {kind!r}")
        return _captured(detail)
    if source == KPIS_SOURCE and kind == KpiEventType.LIFECYCLE_CHANGED:
        changed = LifecycleChanged.model_validate(detail)
        if changed.profile_id is None:
            return Ignore("no profile yet")
        document = changed.model_dump(mode="json")
        stimulus = Stimulus(
            StimulusKind.LIFECYCLE, kind, changed.event_id, iso(changed.occurred_at), None, document, document
        )
        return React(stimulus, profile_id=changed.profile_id)
    if source == CARTS_SOURCE and kind == CartEventType.ABANDONED:
        cart = CartAbandoned.model_validate(detail)
        document = cart.model_dump(mode="json")
        channel = cart.last_channel.value if cart.last_channel else None
        stimulus = Stimulus(
            StimulusKind.CART_ABANDONED, kind, cart.event_id, iso(cart.occurred_at), channel, document, document
        )
        if cart.profile_id:
            return React(stimulus, profile_id=cart.profile_id)
        if cart.anonymous_id:
            return React(stimulus, identifiers={"anonymous_id": cart.anonymous_id})
        return Ignore("an anonymous cart without a device id")
    if source == PROFILES_SOURCE:
        return _profile_event(kind, detail)
    if source == HANDOFF_SOURCE and kind in (HandoffEventType.MESSAGE_SENT, HandoffEventType.MESSAGE_FAILED):
        return _message_end(kind, detail)
    return Ignore(f"not for journeys: {source} {kind}")


def _message_end(kind: str, detail: dict[str, Any]) -> Command:
    ended: OutboundMessageSent | OutboundMessageFailed
    if kind == HandoffEventType.MESSAGE_SENT:
        ended = OutboundMessageSent.model_validate(detail)
        delivery = Delivery("sent", iso(ended.occurred_at), ended.channel.value)
    else:
        ended = OutboundMessageFailed.model_validate(detail)
        delivery = Delivery(ended.state.value, iso(ended.occurred_at), ended.channel.value, ended.error_code)
    if not ended.reason.startswith(JOURNEY_REASON_PREFIX):
        return Ignore("not a journey's message")
    return Delivered(ended.profile_id, ended.message_id, delivery)


def _profile_event(kind: str, detail: dict[str, Any]) -> Command:
    if kind == ProfileEventType.ERASED:
        erased = ProfileErased.model_validate(detail)
        return Erase(sorted({erased.profile_id, *erased.profile_ids}))
    if kind == ProfileEventType.MERGED:
        merged = ProfileMerged.model_validate(detail)
        return Merge(merged.merged_id, merged.survivor_id, merged.event_id)
    if kind == ProfileEventType.UNMERGED:
        unmerged = ProfileUnmerged.model_validate(detail)
        return Unmerge(unmerged.restored_id, unmerged.survivor_id, unmerged.event_id)
    if kind in (ProfileEventType.CREATED, ProfileEventType.UPDATED):
        model = ProfileCreated if kind == ProfileEventType.CREATED else ProfileUpdated
        changed = model.model_validate(detail)
        traits = tuple(changed.changed_traits) if isinstance(changed, ProfileUpdated) else ()
        stimulus = Stimulus(
            StimulusKind.PROFILE, kind, changed.event_id, iso(changed.occurred_at), changed_traits=traits
        )
        return React(stimulus, profile_id=changed.profile_id)
    return Ignore(f"profile event {kind} changes no journey")
