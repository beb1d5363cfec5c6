"""The KPI table's item keys (``pk``, ``sk``). Identifier values never appear in a key: they are hashed.

Aggregates carry a shard suffix (``#<shard>``, one shard per commit chosen at random): a hot counter (today's
web bucket, the all-time totals) is spread over several items, so none takes more than its share of DynamoDB's
per-item write limit; a reader sums the shards (and the unsharded items an earlier version wrote).
"""

from __future__ import annotations

from kpis.dal.store import Key
from kpis.logic.customer_keys import hashed
from kpis.logic.ports import Aggregate, Kind, SessionMarker

CUSTOMER_SK = "C"
ROLLUP = "R#"  # + month: a month's day-level aggregates share a partition (one range query per kind)
DAY_PREFIX = {Kind.BUCKET: "D", Kind.CREDITS: "A", Kind.CAMPAIGN: "K", Kind.SOURCE: "M", Kind.LIFECYCLE: "L"}
FIXED_PARTITION = {Kind.COHORT: "COHORT", Kind.MONTHLY: "MONTHLY", Kind.TOTALS: "CUSTOMERS", Kind.CENSUS: "CENSUS"}
FIXED_SORT = {Kind.TOTALS: "ALL", Kind.CENSUS: "NOW"}
LABEL = {Kind.CAMPAIGN: "campaign", Kind.SOURCE: "source_medium"}  # the readable dimension, set once


def dedupe(event_id: str) -> Key:
    return (f"E#{event_id}", "E")


def dimension_part(aggregate: Aggregate) -> str:
    """Channels go in the key as they are; campaign names and sources are free text: hashed."""
    if aggregate.kind in LABEL:
        return "#" + hashed(aggregate.kind.value, aggregate.dimension)[:16]
    if aggregate.kind is Kind.LIFECYCLE:
        return ""
    return "#" + aggregate.dimension


def aggregate(key: Aggregate, shard: int | None = None) -> Key:
    suffix = "" if shard is None else f"#{shard}"
    if key.kind in DAY_PREFIX:
        return (ROLLUP + key.period[:7], f"{DAY_PREFIX[key.kind]}#{key.period}{dimension_part(key)}{suffix}")
    return (FIXED_PARTITION[key.kind], FIXED_SORT.get(key.kind, key.period) + suffix)


def bucket(day: str, channel: str) -> Key:
    """The unsharded bucket of a day and channel (as an earlier version wrote it)."""
    return aggregate(Aggregate(Kind.BUCKET, day, channel))


def distinct(day: str, channel: str, shard: int | None = None) -> Key:
    return (ROLLUP + day[:7], f"U#{day}#{channel}" + ("" if shard is None else f"#{shard}"))


def session(marker: SessionMarker) -> Key:
    return (f"S#{marker.day}", f"{marker.channel}#{marker.visitor}")


def customer(customer_key: str) -> Key:
    return (f"C#{customer_key}", CUSTOMER_SK)


def identifier(kind: str, value: str) -> Key:
    return (f"I#{hashed(kind, value)}", "I")


CLV_PARAMS = ("CLV", "PARAMS")


def clv_params_history(day: str) -> Key:
    return ("CLV", f"PARAMS#{day}")


def spend(day: str, channel: str, campaign: str) -> Key:
    return (f"SPEND#{day}", f"{channel}#{campaign}")


def job(name: str) -> Key:
    return ("JOB", name.upper())


def review_pk(day: str) -> str:
    return f"REVIEW#{day}"
