"""An outbound message and its delivery state (pure).

State: ``requested`` (waiting for ``next_at``: its due time, or the next retry) → ``sending`` (claimed by one
sender until ``next_at``, its lease) → ``sent`` | ``failed`` | ``cancelled`` (a precondition checked just before
the send said no; ``last_error`` holds its reason). A transient failure puts it back to
``requested`` with an exponential backoff; after ``max_attempts`` it is ``failed``. A sender that dies while
``sending`` leaves the lease to run out, and the message is claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from omnichannel.handoff_events import OutboundChannel


class DeliveryState(StrEnum):
    REQUESTED = "requested"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SendError(Exception):
    """A provider refused or could not be reached. ``transient``: trying again later may work."""

    def __init__(self, message: str, *, transient: bool, code: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code or ("transient" if transient else "permanent")


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    profile_id: str
    channel: OutboundChannel
    to: str
    template: str
    variables: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    ticket_code: str | None = None
    requested_at: str = ""
    due_at: str = ""
    state: DeliveryState = DeliveryState.REQUESTED
    attempts: int = 0
    next_at: str | None = None
    provider_id: str | None = None
    last_error: str | None = None
    sent_at: str | None = None
    failed_at: str | None = None
    cancelled_at: str | None = None
    # Why it ended unsent, short and without personal data: the provider's error code, or the cancellation's reason
    # (``last_error`` keeps the provider's words, which may name the address).
    error_code: str | None = None
    # A message rendered by whoever asked for it (a journey's step: the retailer's own template, not one of the
    # sender's): sent as is instead of rendering ``template``. On WhatsApp ``template`` is then the approved
    # template's name and ``parameters`` its body parameters.
    prerendered: Prerendered | None = None


@dataclass(frozen=True)
class Prerendered:
    text: str
    subject: str = ""
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)

    def delay_after(self, attempts: int) -> timedelta:
        """The wait before attempt ``attempts + 1``: 1, 2, 4, 8 ... minutes, at most ``max_delay``."""
        delay: timedelta = self.first_delay * (2 ** max(0, attempts - 1))
        return min(self.max_delay, delay)

    def next_retry(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed attempts; None once they are used up."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay_after(attempts)
