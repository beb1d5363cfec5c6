"""Rate limit on guessing ticket codes: failed redemptions (and lookups of unknown codes) per caller, counted in
the handoff table in fixed windows.

| item | pk | sk | holds |
|---|---|---|---|
| failure counter | ``GUESSES#<subject>`` | ``WINDOW#<window start, epoch s>`` | ``failures`` (ADD), TTL |

A caller with ``limit`` failures in the current window is refused until the window ends (``Retry-After``). The
counter is one atomic ``ADD``, so concurrent failures all count; the TTL removes old windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

GUESSES_PREFIX = "GUESSES#"
WINDOW_PREFIX = "WINDOW#"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


@dataclass(frozen=True)
class RedeemGuard:
    client: Any
    table: str
    limit: int = 10
    window_seconds: int = 300

    def _window(self, moment: datetime) -> int:
        epoch = int(moment.timestamp())
        return epoch - epoch % self.window_seconds

    def _key(self, subject: str, window: int) -> dict[str, Any]:
        return {"pk": _s(GUESSES_PREFIX + subject), "sk": _s(f"{WINDOW_PREFIX}{window}")}

    def retry_after(self, subject: str, now: datetime) -> int | None:
        """Seconds until ``subject`` may try again, or None when they are under the limit."""
        window = self._window(now)
        item = self.client.get_item(TableName=self.table, Key=self._key(subject, window), ConsistentRead=True).get(
            "Item"
        )
        if item is None or int(item["failures"]["N"]) < self.limit:
            return None
        return max(1, window + self.window_seconds - int(now.timestamp()))

    def record_failure(self, subject: str, now: datetime) -> int:
        """Count one failed attempt; returns the window's count so far."""
        window = self._window(now)
        response = self.client.update_item(
            TableName=self.table,
            Key=self._key(subject, window),
            UpdateExpression="ADD failures :one SET kind = :kind, expires_at = :ttl",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":kind": _s("guesses"),
                ":ttl": {"N": str(window + 2 * self.window_seconds)},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["failures"]["N"])
