"""Holdout groups: a stable share of each journey's entering customers gets nothing, to measure lift (pure).

``held_out(journey, profile, share)`` hashes the journey id and the profile id (SHA-256, the first 8 bytes as a
number in [0, 1)) and holds the customer out when that number is below ``share``. The same customer is in the
same group at every entry; a larger share keeps everyone already held out held out (the groups nest); journeys
hash independently, so one customer's group in one journey says nothing about another.
"""

from __future__ import annotations

import hashlib


def position(journey_id: str, profile_id: str) -> float:
    digest = hashlib.sha256(f"{journey_id}\x1f{profile_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(journey_id: str, profile_id: str, share: float) -> bool:
    return share > 0 and position(journey_id, profile_id) < share


def shard(profile_id: str, shards: int) -> int:
    """The counter / due-index shard of a customer (spreads one journey's writes over ``shards`` items)."""
    return int.from_bytes(hashlib.sha256(profile_id.encode()).digest()[:4], "big") % shards
