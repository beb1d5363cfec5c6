"""Handoff tickets: a short human-friendly code that carries a customer from one channel to the next.

- Code: 8 characters of Crockford's base32, shown as ``XXXX-XXXX`` (``omnichannel.ticket_codes``: the outbound
  function draws a store offer's code the same way, and asks handoff for the ticket with it).
- A ticket is valid until ``expires_at`` and redeemed at most once. ``state`` is ``open``, ``redeemed`` or
  ``voided`` (a reserve-in-store offer cancelled before it was sent) as stored; an open ticket past its expiry
  reads as ``expired`` (``Ticket.as_of``). A voided ticket never redeems (410 ``ticket_voided``, like a used one).
- Digital receiving channels get a deep link ``<base>/h/<code>``; a phone agent or a store clerk is given the
  code itself.

Pure: no boto3 here.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.handoff_events import TicketPurpose
from omnichannel.outbound_events import TicketRequested
from omnichannel.ticket_codes import ALPHABET, CODE_LENGTH, display_code, new_code, normalise_code

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "display_code",
    "new_code",
    "normalise_code",
]

DEFAULT_TTL = timedelta(minutes=60)
MAX_TTL = timedelta(minutes=10080)  # one week
# Channels where a person reads the code (phone agent, store clerk); every other channel gets a deep link.
NON_DIGITAL_CHANNELS = frozenset({"store", "phone"})


class TicketState(StrEnum):
    OPEN = "open"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOIDED = "voided"


class TicketError(Exception):
    """Why a ticket cannot be redeemed."""

    code = "ticket_error"


class TicketNotFound(TicketError):
    code = "not_found"


class TicketExpired(TicketError):
    code = "ticket_expired"


class TicketAlreadyUsed(TicketError):
    code = "ticket_used"


class TicketVoided(TicketError):
    code = "ticket_voided"


def deep_link(base_url: str, code: str, to_channel: str) -> str | None:
    """``<base>/h/<code>`` for a digital receiving channel, else None (or when no base URL is configured)."""
    if to_channel in NON_DIGITAL_CHANNELS or not base_url:
        return None
    return f"{base_url.rstrip('/')}/h/{code}"


class Ticket(BaseModel):
    """One handoff ticket. Times are timezone-aware UTC datetimes."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    code: str = Field(default_factory=new_code)
    profile_id: str
    from_channel: str
    to_channel: str
    reason: str
    note: str | None = None
    created_by: str | None = None
    created_at: datetime
    expires_at: datetime
    state: TicketState = TicketState.OPEN
    redeemed_by: str | None = None
    redeemed_at: datetime | None = None
    redeemed_channel: str | None = None
    redeemed_store_id: str | None = None
    deep_link: str | None = None
    purpose: TicketPurpose = TicketPurpose.HANDOFF
    store_id: str | None = None
    cart_snapshot: dict[str, Any] | None = None

    def with_code(self, code: str) -> Ticket:
        """The same ticket under another code (a collision on create); its deep link follows the code."""
        link = self.deep_link
        if link is not None and link.endswith(f"/h/{self.code}"):
            link = link.removesuffix(self.code) + code
        return self.model_copy(update={"code": code, "deep_link": link})

    def as_of(self, moment: datetime) -> Ticket:
        """The ticket as a reader sees it at ``moment``: an open ticket past its expiry is ``expired``."""
        if self.state is TicketState.OPEN and moment >= self.expires_at:
            return self.model_copy(update={"state": TicketState.EXPIRED})
        return self

    def check_redeemable(self, moment: datetime) -> None:
        """Raises ``TicketAlreadyUsed``, ``TicketVoided`` or ``TicketExpired`` when the ticket cannot be redeemed at
        ``moment``."""
        if self.state is TicketState.VOIDED:
            raise TicketVoided(f"ticket {display_code(self.code)} was voided")
        if self.state is TicketState.REDEEMED:
            raise TicketAlreadyUsed(f"ticket {display_code(self.code)} was redeemed already")
        if self.as_of(moment).state is TicketState.EXPIRED:
            raise TicketExpired(f"ticket {display_code(self.code)} has expired")


def new_ticket(
    *,
    profile_id: str,
    from_channel: str,
    to_channel: str,
    reason: str,
    now: datetime,
    link_base_url: str,
    note: str | None = None,
    created_by: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
    purpose: TicketPurpose = TicketPurpose.HANDOFF,
    store_id: str | None = None,
    cart_snapshot: dict[str, Any] | None = None,
) -> Ticket:
    """An open ticket with a fresh code, valid for ``ttl`` (at most a week) from ``now``."""
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValueError(f"a ticket lives between 1 minute and {MAX_TTL}")
    code = new_code()
    return Ticket(
        code=code,
        profile_id=profile_id,
        from_channel=from_channel,
        to_channel=to_channel,
        reason=reason,
        note=note,
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl,
        deep_link=deep_link(link_base_url, code, to_channel),
        purpose=purpose,
        store_id=store_id,
        cart_snapshot=cart_snapshot,
    )


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    """The ticket as the API shows it (the code with its dash; times ISO 8601 UTC)."""
    body = ticket.model_dump(mode="json")
    body["code"] = display_code(ticket.code)
    return body


def ticket_from_request(request: TicketRequested) -> Ticket:
    """The ticket another function asked for (outbound's store offer), under the code it drew; no deep link (a
    reserve-in-store code is read by a clerk)."""
    return Ticket(
        ticket_id=request.ticket_id,
        code=request.code,
        profile_id=request.profile_id,
        from_channel=request.from_channel,
        to_channel=request.to_channel,
        reason=request.reason,
        note=request.note,
        created_by=request.created_by,
        created_at=request.created_at,
        expires_at=request.expires_at,
        purpose=request.purpose,
        store_id=request.store_id,
        cart_snapshot=request.cart_snapshot,
    )
