"""The KPI table's item keys (``pk``, ``sk``). Identifier values never appear in a key: they are hashed."""

from __future__ import annotations

import hashlib

from kpis.dal.store import Key

CUSTOMER_SK = "C"


def hashed(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def dedupe(event_id: str) -> Key:
    return (f"E#{event_id}", "E")


def bucket(day: str, channel: str) -> Key:
    """Counters of one business day and channel; a month's buckets share a partition (one range query)."""
    return (f"R#{day[:7]}", f"D#{day}#{channel}")


def distinct(day: str, channel: str) -> Key:
    return (f"R#{day[:7]}", f"U#{day}#{channel}")


def session(day: str, channel: str, visitor: str) -> Key:
    return (f"S#{day}", f"{channel}#{visitor}")


def customer(customer_key: str) -> Key:
    return (f"C#{customer_key}", CUSTOMER_SK)


def identifier(kind: str, value: str) -> Key:
    return (f"I#{hashed(kind, value)}", "I")


def cohort(month: str) -> Key:
    return ("COHORT", month)


def monthly(year: str) -> Key:
    return ("MONTHLY", year)


CUSTOMERS = ("CUSTOMERS", "ALL")
CLV_PARAMS = ("CLV", "PARAMS")


def clv_params_history(day: str) -> Key:
    return ("CLV", f"PARAMS#{day}")


def spend(day: str, channel: str, campaign: str) -> Key:
    return (f"SPEND#{day}", f"{channel}#{campaign}")


REVIEW_JOB = ("JOB", "REVIEW")


def review_pk(day: str) -> str:
    return f"REVIEW#{day}"


def pending_customer(kind: str, value: str) -> str:
    """The customer key of identifiers no profile holds yet (folded into the profile when it is announced)."""
    return f"i-{hashed(kind, value)}"


def profile_customer(profile_id: str) -> str:
    return f"p-{profile_id}"
