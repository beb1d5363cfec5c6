"""Customer keys: ``p-<profile_id>`` once the profiles function announced a profile, else ``i-<hash>`` of the
event's strongest identifier (pending: folded into the profile when it is announced). Identifier values never
appear in a key or a stored attribute: they are hashed."""

from __future__ import annotations

import hashlib


def hashed(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def pending_customer(kind: str, value: str) -> str:
    """The customer key of identifiers no profile holds yet (folded into the profile when it is announced)."""
    return f"i-{hashed(kind, value)}"


def is_pending(customer_key: str) -> bool:
    return customer_key.startswith("i-")


def profile_customer(profile_id: str) -> str:
    return f"p-{profile_id}"
