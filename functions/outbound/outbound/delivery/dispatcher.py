"""Delivers outbox messages: claim one attempt, send through the channel's provider, record the outcome.

Idempotent: a message is claimed with a conditional write before it is sent, so a redelivered request, the
due-message sweep and a second worker never send it twice while its state is ``sending`` or ``sent``. Only a
worker that dies between the provider's answer and recording it leaves a send unrecorded; its lease then runs
out and the message is tried again (providers offer no idempotency key for these APIs).

``precondition`` (optional) is asked about each claimed message just before the send: a reason (text) cancels it
instead. ``on_cancel`` then runs (it must be idempotent: a worker that dies before the message is marked
``cancelled`` leaves its lease to run out, and the next one checks and cancels again), and the message ends
``cancelled`` with the reason in ``last_error``, with the same conditional write as ``sent``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from omnichannel.canonical_event import utc_iso
from omnichannel.handoff_events import OutboundChannel
from outbound.delivery.message import DeliveryState, OutboundMessage, RetryPolicy, SendError
from outbound.delivery.templates import Rendered, UnknownTemplate, render


class Sender(Protocol):
    def send(self, message: OutboundMessage, rendered: Rendered) -> str: ...


class Outbox(Protocol):
    def get(self, message_id: str) -> OutboundMessage | None: ...
    def due(self, now: str, limit: int = 100) -> list[str]: ...
    def claim(self, message_id: str, now: str, lease_until: str) -> OutboundMessage | None: ...
    def mark_sent(self, claimed: OutboundMessage, provider_id: str, at: str) -> bool: ...
    def retry_later(self, claimed: OutboundMessage, error: str, next_at: str) -> bool: ...
    def mark_failed(self, claimed: OutboundMessage, error: str, at: str, code: str) -> bool: ...
    def mark_cancelled(self, claimed: OutboundMessage, reason: str, at: str) -> bool: ...


def content_of(message: OutboundMessage) -> Rendered:
    """What goes out: the requester's own rendering when it sent one (a journey), else the sender's template."""
    if message.prerendered is not None:
        done = message.prerendered
        return Rendered(subject=done.subject, text=done.text, parameters=done.parameters)
    return render(message.template, message.variables)


@dataclass(frozen=True)
class Attempt:
    message_id: str
    outcome: str  # "sent" | "retry" | "failed" | "cancelled" | "skipped"
    message: OutboundMessage | None = None
    provider_id: str | None = None
    error: str | None = None


@dataclass
class Dispatcher:
    outbox: Outbox
    senders: Mapping[OutboundChannel, Sender]
    clock: Callable[[], datetime]
    retry: RetryPolicy = RetryPolicy()  # noqa: RUF009 - frozen, shared safely
    precondition: Callable[[OutboundMessage], str | None] | None = None
    on_cancel: Callable[[OutboundMessage, str], None] | None = None

    def deliver(self, message_id: str) -> Attempt:
        now = self.clock()
        claimed = self.outbox.claim(message_id, utc_iso(now), utc_iso(now + self.retry.lease))
        if claimed is None:
            return Attempt(message_id, "skipped")  # not due yet, ended, or another worker holds it
        reason = self.precondition(claimed) if self.precondition is not None else None
        if reason is not None:
            if self.on_cancel is not None:
                self.on_cancel(claimed, reason)
            self.outbox.mark_cancelled(claimed, reason, utc_iso(self.clock()))
            return Attempt(message_id, DeliveryState.CANCELLED.value, claimed, error=reason)
        try:
            rendered = content_of(claimed)
            sender = self.senders.get(claimed.channel)
            if sender is None:
                raise SendError(f"no sender for {claimed.channel.value}", transient=False, code="NoSender")
            provider_id = sender.send(claimed, rendered)
        except UnknownTemplate:
            return self._failed(claimed, f"unknown template {claimed.template!r}", "UnknownTemplate")
        except SendError as error:
            if not error.transient:
                return self._failed(claimed, str(error), error.code)
            later = self.retry.next_retry(claimed.attempts, self.clock())
            if later is None:
                return self._failed(claimed, f"{error} (after {claimed.attempts} attempts)", error.code)
            self.outbox.retry_later(claimed, str(error), utc_iso(later))
            return Attempt(message_id, "retry", claimed, error=str(error))
        self.outbox.mark_sent(claimed, provider_id, utc_iso(self.clock()))
        return Attempt(message_id, DeliveryState.SENT.value, claimed, provider_id=provider_id)

    def _failed(self, claimed: OutboundMessage, error: str, code: str) -> Attempt:
        self.outbox.mark_failed(claimed, error, utc_iso(self.clock()), code)
        return Attempt(claimed.message_id, DeliveryState.FAILED.value, claimed, error=error)

    def deliver_due(self, limit: int = 100) -> list[Attempt]:
        """Every message whose time has come (deferred ones, retries, expired leases), oldest first."""
        return [self.deliver(message_id) for message_id in self.outbox.due(utc_iso(self.clock()), limit)]
