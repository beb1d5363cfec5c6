"""The recorded outcome of one online-to-store decision, and the per-profile offer history the cap reads.

An offer cancelled at send time (``outbound.store_offers.offer_recheck``) keeps its decision (store, channel,
``send_at``, message, ticket) and reads ``outcome = "cancelled"`` with the cancel reason (``cart_bought``,
``cart_changed``, ``no_stock``) and ``cancelled_at``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CANCELLED = "cancelled"  # the outcome of a decision whose message was cancelled at send time


@dataclass(frozen=True)
class OfferRecord:
    cart_id: str
    episode: int
    event_id: str
    decided_at: str
    outcome: str
    reason: str
    profile_id: str | None = None
    channel: str | None = None
    store_id: str | None = None
    distance_km: float | None = None
    send_at: str | None = None
    message_id: str | None = None
    ticket_code: str | None = None
    published: bool = False
    cancelled_at: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "cart_id": self.cart_id,
            "episode": self.episode,
            "event_id": self.event_id,
            "decided_at": self.decided_at,
            "outcome": self.outcome,
            "reason": self.reason,
            "profile_id": self.profile_id,
            "channel": self.channel,
            "store_id": self.store_id,
            "distance_km": self.distance_km,
            "send_at": self.send_at,
            "message_id": self.message_id,
            "ticket_code": self.ticket_code,
            "cancelled_at": self.cancelled_at,
        }


@dataclass(frozen=True)
class Cap:
    offered_at: tuple[str, ...] = ()
    rev: int = 0
    exists: bool = False
