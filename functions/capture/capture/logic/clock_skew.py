"""When a touchpoint happened, corrected for the client's clock the way Segment does it.

The SDK stamps each call with the device's clock (``timestamp``, kept as ``originalTimestamp``) and the batch
with the device's clock when it was sent (``sentAt``). The device clock may be off by minutes or years, but
its *differences* are right, so: ``occurred_at = receivedAt - (sentAt - originalTimestamp)``. Without
``sentAt`` (server-side libraries, historical imports) the given timestamp is taken as it is; without any
timestamp, the time it was received. A correction never puts an event after its arrival.
"""

from __future__ import annotations

from datetime import datetime


def corrected_occurred_at(
    received_at: datetime, original_timestamp: datetime | None, sent_at: datetime | None
) -> datetime:
    if original_timestamp is None:
        return received_at
    if sent_at is None:
        return original_timestamp
    corrected = received_at - (sent_at - original_timestamp)
    return min(corrected, received_at)
