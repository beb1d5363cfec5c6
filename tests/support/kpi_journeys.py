"""A seeded generator of multi-channel customer journeys, and the KPIs computed from its raw events by plain,
independent code (the rollups must equal them, to the cent)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from omnichannel.canonical_event import CanonicalEvent
from omnichannel.cart_events import CartRecovered
from omnichannel.profile_events import ProfileCreated, ProfileMerged

ZONE = ZoneInfo("Europe/Berlin")  # daylight saving starts 2026-03-29
RATES = {"EUR": Decimal("36.4571"), "USD": Decimal("33.1200")}  # GBP has no rate: counted apart, never as zero
REPORTING = "TRY"
CHANNELS = ["web", "app", "store", "email", "sms", "whatsapp"]
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass
class Journeys:
    bus: list[tuple[str, Any]] = field(default_factory=list)  # ("capture" | "profile" | "cart", model)
    spend: list[dict[str, Any]] = field(default_factory=list)
    owner: dict[str, int] = field(default_factory=dict)  # event_id -> true customer


def _event(
    rng: random.Random,
    name: str | None,
    kind: str,
    channel: str,
    at: datetime,
    ids: dict[str, str],
    props: dict[str, Any],
) -> CanonicalEvent:
    message_id = str(uuid.UUID(int=rng.getrandbits(128)))
    return CanonicalEvent.model_validate(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
            "message_id": message_id,
            "source": "generator",
            "type": kind,
            "name": name,
            "channel": channel,
            "identifiers": ids,
            "occurred_at": at,
            "received_at": at + timedelta(seconds=rng.randint(0, 86400 * 3)),  # late arrivals
            "properties": props,
        }
    )


CAMPAIGNS = [("spring-sale", "google", "cpc"), ("newsletter-04", "newsletter", "email"), ("tv-spot", "tv", "offline")]


def generate(customers: int, seed: int = 7, days: int = 110) -> Journeys:
    rng = random.Random(seed)
    out = Journeys()
    for number in range(customers):
        ids = {
            "web": {"anonymous_id": f"anon-{seed}-{number}"},
            "app": {"user_id": f"user-{seed}-{number}", "anonymous_id": f"app-{seed}-{number}"},
            "store": {"loyalty_card": f"card-{seed}-{number}"},
            "email": {"email": f"c{number}@example.com"},
            "sms": {"phone": f"+90532{number:07d}"},
            "whatsapp": {"whatsapp": f"90533{number:07d}"},
        }
        profile = f"P{seed}-{number}"
        split = rng.random() < 0.25  # two profiles first, merged later
        all_ids: dict[str, list[str]] = defaultdict(list)
        for mapping in ids.values():
            for kind, value in mapping.items():
                all_ids[kind].append(value)
        at = START + timedelta(days=rng.randint(0, days - 20), minutes=rng.randint(0, 1439))
        used = rng.sample(CHANNELS, rng.randint(1, 3))
        for _ in range(rng.randint(1, 12)):
            at += timedelta(hours=rng.randint(1, 24 * 9))
            channel = rng.choice(used)
            pick = rng.random()
            who = ids[channel]
            if pick < 0.35:
                if channel == "web" and rng.random() < 0.4:
                    name, source, medium = rng.choice(CAMPAIGNS)
                    event = _event(rng, "Landing", "page", channel, at, who, {})
                    event = event.model_copy(
                        update={"context": {"campaign": {"name": name, "source": source, "medium": medium}}}
                    )
                elif channel == "web":
                    event = _event(rng, "Home", "page", channel, at, who, {})
                elif channel == "app":
                    event = _event(rng, "Home", "screen", channel, at, who, {})
                elif channel == "store":
                    event = _event(rng, "Store Visited", "track", channel, at, who, {"store_id": "ist-1"})
                else:
                    event = _event(rng, "Home", "page", channel, at, who, {})
            elif pick < 0.62:
                currency = rng.choice(["TRY", "TRY", "EUR", "USD", "GBP"])
                price: Any = (
                    str(Decimal(rng.randint(500, 90000)) / 100)
                    if rng.random() < 0.5
                    else rng.randint(5, 900) + 0.1 * rng.randint(0, 9)
                )
                event = _event(
                    rng,
                    "Order Completed",
                    "track",
                    channel,
                    at,
                    who,
                    {"order_id": f"o{at.timestamp()}", "revenue": price, "currency": currency},
                )
                if rng.random() < 0.15:
                    refund_at = at + timedelta(days=rng.randint(0, 10))
                    out.bus.append(
                        (
                            "capture",
                            _event(
                                rng,
                                "Order Refunded",
                                "track",
                                channel,
                                refund_at,
                                who,
                                {"total": f"-{Decimal(rng.randint(100, 5000)) / 100}", "currency": currency},
                            ),
                        )
                    )
                    out.owner[out.bus[-1][1].event_id] = number
                if rng.random() < 0.1:
                    out.bus.append(
                        (
                            "cart",
                            CartRecovered(
                                event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                                occurred_at=at,
                                cart_id=f"cart-{number}",
                                episode=1,
                                order_event_id=event.event_id,
                                revenue=Decimal(rng.randint(100, 9000)) / 100,
                                currency=currency,
                                channel=channel,
                                abandoned_at=at - timedelta(days=1),
                            ),
                        )
                    )
            elif pick < 0.72:
                event = _event(rng, "Lead Created", "track", channel, at, who, {})
            elif pick < 0.8:
                event = _event(rng, "Signed Up", "track", channel, at, who, {})
            else:
                props: dict[str, Any] = {}
                if rng.random() < 0.7:
                    props["nps"] = rng.randint(0, 10)
                if rng.random() < 0.6 or not props:
                    props["csat"] = rng.randint(1, 5)
                event = _event(rng, "Survey Answered", "track", channel, at, who, props)
            out.bus.append(("capture", event))
            out.owner[event.event_id] = number
        created = START + timedelta(days=days + 1)
        if split:
            store_ids = {"loyalty_card": all_ids.pop("loyalty_card")}
            out.bus.append(
                (
                    "profile",
                    ProfileCreated(
                        event_id=f"pc-{profile}-b", occurred_at=created, profile_id=profile + "b", identifiers=store_ids
                    ),
                )
            )
            out.bus.append(
                (
                    "profile",
                    ProfileMerged(
                        event_id=f"pm-{profile}",
                        occurred_at=created,
                        merge_id=f"m-{profile}",
                        survivor_id=profile,
                        merged_id=profile + "b",
                        rule="email",
                        moved_identifiers=store_ids,
                    ),
                )
            )
        out.bus.append(
            (
                "profile",
                ProfileCreated(
                    event_id=f"pc-{profile}", occurred_at=created, profile_id=profile, identifiers=dict(all_ids)
                ),
            )
        )
    for offset in range(days + 30):
        day = (START + timedelta(days=offset)).date()
        for channel in CHANNELS:
            if rng.random() < 0.6:
                currency = rng.choice(["TRY", "EUR"])
                out.spend.append(
                    {
                        "day": day.isoformat(),
                        "channel": channel,
                        "campaign": rng.choice(["brand", "promo"]),
                        "amount": str(Decimal(rng.randint(1000, 500000)) / 100),
                        "currency": currency,
                    }
                )
    return out


# ---------------------------------------------------------------------------------------------- the reference

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
LOOKBACKS = (1, 7, 14, 30, 60, 90)
STAGE_THRESHOLDS = (60, 180, 3)  # at risk after, lapsed after (days), loyal at orders


def _money(value: Any, currency: str) -> Decimal:
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _report(value: Decimal, currency: str) -> Decimal | None:
    if currency == REPORTING:
        return value
    if currency not in RATES:
        return None
    return (value * RATES[currency]).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _weights(model: str, path: list[tuple[date, str]]) -> list[Decimal]:
    n = len(path)
    conversion = path[-1][0]
    if model == "first_touch":
        return [Decimal(1)] + [Decimal(0)] * (n - 1)
    if model == "last_touch":
        return [Decimal(0)] * (n - 1) + [Decimal(1)]
    if model == "linear":
        return [Decimal(1) / n] * n
    if model == "time_decay":
        raw = [Decimal(2) ** (Decimal(-(conversion - day).days) / 7) for day, _ in path]
        return [weight / sum(raw) for weight in raw]
    if n == 1:
        return [Decimal(1)]
    if n == 2:
        return [Decimal("0.5"), Decimal("0.5")]
    return [Decimal("0.4")] + [Decimal("0.2") / (n - 2)] * (n - 2) + [Decimal("0.4")]


def _credits(model: str, path: list[tuple[date, str]]) -> dict[str, Decimal]:
    rounded = [w.quantize(Decimal("0.000001")) for w in _weights(model, path)]
    rounded[-1] += 1 - sum(rounded)
    out: dict[str, Decimal] = defaultdict(Decimal)
    for (_, channel), share in zip(path, rounded, strict=True):
        out[channel] += share
    return {channel: share for channel, share in out.items() if share}


def stage_of(c: dict[str, Any], today: date) -> str | None:
    at_risk, lapsed, loyal = STAGE_THRESHOLDS
    if not c["orders"]:
        return "acquisition" if c["lead"] or c["signup"] else None
    recency = (today - date.fromisoformat(max(o[2] for o in c["orders"]))).days
    if recency > lapsed:
        return "recovery"
    if recency > at_risk:
        return "retention"
    net = sum((o[3] or Decimal(0) for o in c["orders"]), Decimal(0)) - c["refunded"]
    if len(c["orders"]) >= loyal and net > 0:
        return "loyalty"
    return "experimentation"


def _campaign_of(c: dict[str, Any], day: str) -> tuple[str, str, str] | None:
    chosen = None
    for touch in sorted(c["campaigns"]):
        if touch[0] <= day and (date.fromisoformat(day) - date.fromisoformat(touch[0])).days <= 30:
            chosen = touch
    return chosen[1:] if chosen else None


def reference(journeys: Journeys, today: date = date(2026, 6, 1)) -> dict[str, Any]:
    """Every figure the tests compare, from the raw events, by the definitions of docs/kpis.md: per day and
    channel the counters (and the attribution credits of every model and lookback), per campaign and source,
    the cohorts, the monthly retention, the all-time figures and the lifecycle census on ``today``."""
    buckets: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    campaigns: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    sources: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    sessions: set[tuple[str, str, str]] = set()
    per: dict[int, dict[str, Any]] = defaultdict(
        lambda: {
            "orders": [],
            "refunded": Decimal(0),
            "unconverted": set(),
            "channels": set(),
            "touches": set(),
            "lead": None,
            "signup": None,
            "campaigns": set(),
        }
    )

    def money(b: dict[str, Decimal], name: str, count: str, value: Decimal, currency: str) -> Decimal | None:
        b[f"{name}:{currency}"] += value
        converted = _report(value, currency)
        if converted is None:
            b["fx_missing"] += 1
            b[f"{name}_unconverted:{currency}"] += value
            b[f"{count}_unconverted:{currency}"] += 1
        else:
            b[name] += converted
        return converted

    for source, event in journeys.bus:
        if source == "profile":
            continue
        day = event.occurred_at.astimezone(ZONE).date().isoformat()
        channel = event.channel if source == "cart" else event.channel.value
        b = buckets[(day, channel)]
        if source == "cart":
            b["recovered_orders"] += 1
            money(b, "recovered", "recovered_orders", _money(event.revenue, event.currency), event.currency)
            continue
        c = per[journeys.owner[event.event_id]]
        c["channels"].add(channel)
        name = event.name if event.type.value == "track" else event.type.value
        campaign = event.context.get("campaign")
        if campaign:
            c["campaigns"].add((day, campaign["name"], campaign["source"], campaign["medium"]))
        if name in ("page", "screen", "Store Visited", "Lead Created", "Signed Up", "Order Completed"):
            c["touches"].add((date.fromisoformat(day), channel))
        if name in ("page", "screen", "Store Visited"):
            b[{"page": "page_views", "screen": "screen_views"}.get(name, "store_visits")] += 1
            ids = {k.value if hasattr(k, "value") else k: v for k, v in event.identifiers.items()}
            visitor = ids.get("anonymous_id") or ids.get("user_id") or next(iter(sorted(ids.items())))[1]
            if (day, channel, visitor) not in sessions:
                sessions.add((day, channel, visitor))
                b["sessions"] += 1
                if campaign:
                    campaigns[(day, campaign["name"])]["sessions"] += 1
                    sources[(day, f"{campaign['source']} / {campaign['medium']}")]["sessions"] += 1
        elif name == "Order Completed":
            currency = event.properties["currency"]
            b["orders"] += 1
            gross = money(b, "gross", "orders", _money(event.properties["revenue"], currency), currency)
            if gross is None:
                c["unconverted"].add(currency)
            c["orders"].append((event.occurred_at, channel, day, gross))
        elif name == "Order Refunded":
            currency = event.properties["currency"]
            b["refunds"] += 1
            refunded = money(b, "refunded", "refunds", abs(_money(event.properties["total"], currency)), currency)
            if refunded is None:
                c["unconverted"].add(currency)
            else:
                c["refunded"] += refunded
        elif name == "Lead Created":
            b["leads"] += 1
            if c["lead"] is None or (day, channel) < c["lead"]:
                c["lead"] = (day, channel)
        elif name == "Signed Up":
            b["signups"] += 1
            c["signup"] = min(filter(None, (c["signup"], day)))
        elif name == "Survey Answered":
            nps, csat = event.properties.get("nps"), event.properties.get("csat")
            if nps is not None:
                b["nps_responses"] += 1
                b["nps_promoters"] += nps >= 9
                b["nps_detractors"] += nps <= 6
            if csat is not None:
                b["csat_responses"] += 1
                b["csat_satisfied"] += csat >= 4
                b["csat_total"] += csat
    spend_rows = {(row["day"], row["channel"], row["campaign"]): row for row in journeys.spend}
    for (day, channel, campaign), row in spend_rows.items():
        spent = _report(Decimal(row["amount"]), row["currency"])
        assert spent is not None
        buckets[(day, channel)]["spend"] += spent
        buckets[(day, channel)][f"spend:{row['currency']}"] += Decimal(row["amount"])
        campaigns[(day, campaign)]["spend"] += spent
        campaigns[(day, campaign)][f"spend:{row['currency']}"] += Decimal(row["amount"])
    cohorts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    monthly: dict[str, Decimal] = defaultdict(Decimal)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    census: dict[str, Decimal] = defaultdict(Decimal)
    for c in per.values():
        stage = stage_of(c, today)
        if stage:
            census[stage] += 1
        if c["lead"] and c["orders"]:
            buckets[c["lead"]]["lead_customers"] += 1
        if not c["orders"]:
            continue
        _, first_channel, first_day, first_gross = min(c["orders"], key=lambda o: (o[0], o[1]))
        repeat = len(c["orders"]) >= 2
        first = buckets[(first_day, first_channel)]
        first["new_customers"] += 1
        first["new_repeat_customers"] += repeat
        if first_gross is not None:
            first["new_orders"] += 1
            first["new_gross"] += first_gross
        conversion = date.fromisoformat(first_day)
        for lookback in LOOKBACKS:
            window = sorted(
                t
                for t in c["touches"]
                if 0 <= (conversion - t[0]).days <= lookback and t != (conversion, first_channel)
            )
            for model in MODELS:
                for channel, share in _credits(model, [*window, (conversion, first_channel)]).items():
                    buckets[(first_day, channel)][f"acquired:{model}:{lookback}"] += share
        order_days: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for _, _, day, gross in c["orders"]:
            order_days[day][0] += 1
            order_days[day][1] += gross or 0
        for day, (count, gross) in order_days.items():
            campaign = _campaign_of(c, day)
            if campaign:
                for table, key in ((campaigns, campaign[0]), (sources, f"{campaign[1]} / {campaign[2]}")):
                    table[(day, key)]["orders"] += count
                    table[(day, key)]["gross"] += gross
                    table[(day, key)]["new_customers"] += day == first_day
        gross = sum((o[3] or Decimal(0) for o in c["orders"]), Decimal(0))
        valued = not c["unconverted"]
        net = gross - c["refunded"] if valued else Decimal(0)
        months = {o[2][:7] for o in c["orders"]}
        cohort = cohorts[first_day[:7]]
        cohort["customers"] += 1
        cohort["valued_customers"] += valued
        cohort["net"] += net
        cohort["repeat_customers"] += repeat
        for month in months:
            cohort[f"active:{month}"] += 1
            monthly[f"active:{month}"] += 1
            year, m = int(month[:4]), int(month[5:])
            prev = f"{year - 1}-12" if m == 1 else f"{year}-{m - 1:02d}"
            monthly[f"retained:{month}"] += prev in months
        group = "multi" if len(c["channels"]) >= 2 else "single"
        totals["customers"] += 1
        totals["repeat_customers"] += repeat
        totals["valued_customers"] += valued
        totals["net"] += net
        totals[f"{group}_customers"] += 1
        totals[f"{group}_orders"] += sum(1 for o in c["orders"] if o[3] is not None)
        totals[f"{group}_gross"] += gross
    return {"buckets": buckets, "campaigns": campaigns, "sources": sources, "cohorts": cohorts,
            "monthly": monthly, "totals": totals, "census": census}  # fmt: skip
