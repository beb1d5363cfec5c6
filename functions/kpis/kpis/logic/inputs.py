"""Bus events -> facts. Which events count, and how (names from the Segment spec where one exists):

| event (detail-type) | fact | counted |
|---|---|---|
| ``Order Completed`` | order | ``revenue`` (else ``total``) in ``currency`` |
| ``Order Refunded`` | refund | the absolute value of ``total`` (else ``revenue``) in ``currency`` |
| ``page`` / ``screen`` | page / screen view | a session per device (anonymous id) per channel and business day |
| ``Store Visited`` | store visit | a session per visitor per store channel and business day |
| ``Lead Created`` | lead | |
| ``Signed Up`` | sign-up | |
| ``Survey Answered`` | survey | ``nps`` (0-10) and/or ``csat`` (1-5) |
| ``cart.recovered`` (carts) | recovered | ``revenue`` in ``currency`` |
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from kpis.logic.calendar import business_day
from kpis.logic.facts import Campaign, Fact, FactKind
from kpis.logic.money import FxRates, MoneyError, amount, currency_code
from omnichannel.canonical_event import CanonicalEvent, EventType
from omnichannel.cart_events import CartRecovered
from omnichannel.counted_figures import amount_field, whole_score

TRACKED = {
    "Order Completed": FactKind.ORDER,
    "Order Refunded": FactKind.REFUND,
    "Store Visited": FactKind.STORE_VISIT,
    "Lead Created": FactKind.LEAD,
    "Signed Up": FactKind.SIGNUP,
    "Survey Answered": FactKind.SURVEY,
}
VISITOR_PRECEDENCE = ("anonymous_id", "device_id", "user_id", "email", "phone", "loyalty_card", "pos_customer")


class UncountableEvent(ValueError):
    """The event cannot be counted (named field, why); it is reported, never retried."""


def _score(properties: dict[str, Any], name: str, low: int, high: int) -> int | None:
    try:
        return whole_score(properties.get(name), low, high)
    except ValueError as error:
        raise UncountableEvent(f"properties.{name}: {error}") from error


def _visitor(identifiers: dict[str, str]) -> str:
    for kind in VISITOR_PRECEDENCE:
        if identifiers.get(kind):
            return f"{kind}:{identifiers[kind]}"
    kind, value = sorted(identifiers.items())[0]
    return f"{kind}:{value}"


NOT_SET = "(not set)"
MAX_CAMPAIGN_TEXT = 100


def _campaign(context: dict[str, Any]) -> Campaign | None:
    """Segment's ``context.campaign`` (analytics.js fills it from the page's utm_ parameters)."""
    raw = context.get("campaign")
    if not isinstance(raw, dict):
        return None

    def part(name: str) -> str:
        value = raw.get(name)
        text = str(value).strip()[:MAX_CAMPAIGN_TEXT] if isinstance(value, str | int | float) else ""
        return text or NOT_SET

    campaign = Campaign(part("name"), part("source"), part("medium"))
    return None if campaign == Campaign(NOT_SET, NOT_SET, NOT_SET) else campaign


def fact_from_event(event: CanonicalEvent, zone: ZoneInfo, fx: FxRates) -> Fact | None:
    """The fact an event stands for, or None when the KPIs do not count it."""
    if event.type is EventType.PAGE:
        kind = FactKind.PAGE_VIEW
    elif event.type is EventType.SCREEN:
        kind = FactKind.SCREEN_VIEW
    elif event.type is EventType.TRACK and event.name in TRACKED:
        kind = TRACKED[event.name]
    else:
        return None
    identifiers = {str(kind_): value for kind_, value in event.identifiers.items()}
    if not identifiers:
        raise UncountableEvent("identifiers: none")
    properties = event.properties
    money = None
    nps = csat = None
    if kind in (FactKind.ORDER, FactKind.REFUND):
        field = amount_field(event.name, properties)  # the field capture checked at its gate
        try:
            code = currency_code(properties.get("currency"))
        except MoneyError as error:
            raise UncountableEvent(f"properties.currency: {error}") from error
        try:
            value = amount(properties.get(field), code)
            if kind is FactKind.ORDER and value < 0:
                raise MoneyError(f"amount {properties.get(field)!r} is negative (a refund is an Order Refunded)")
        except MoneyError as error:
            raise UncountableEvent(f"properties.{field}: {error}") from error
        money = fx.convert(abs(value) if kind is FactKind.REFUND else value, code)
    if kind is FactKind.SURVEY:
        nps = _score(properties, "nps", 0, 10)
        csat = _score(properties, "csat", 1, 5)
        if nps is None and csat is None:
            raise UncountableEvent("properties.nps: a survey answer needs nps or csat")
    return Fact(
        event_id=event.event_id,
        kind=kind,
        occurred_at=event.occurred_at,
        day=business_day(event.occurred_at, zone).isoformat(),
        channel=event.channel.value,
        identifiers=identifiers,
        visitor=_visitor(identifiers),
        money=money,
        nps=nps,
        csat=csat,
        campaign=_campaign(event.context),
    )


def fact_from_recovery(event: CartRecovered, zone: ZoneInfo, fx: FxRates) -> Fact:
    try:
        code = currency_code(event.currency)
        money = fx.convert(amount(event.revenue, code), code)
    except MoneyError as error:
        raise UncountableEvent(f"revenue: {error}") from error
    return Fact(
        event_id=event.event_id,
        kind=FactKind.RECOVERED,
        occurred_at=event.occurred_at,
        day=business_day(event.occurred_at, zone).isoformat(),
        channel=event.channel.value if event.channel else "web",
        money=money,
    )
