"""What the resolver logs per event: a merge or a conflict is an INFO line; a created or updated profile (nearly
every event) only a debug line, so that CloudWatch Logs does not cost more than the writes at 10,000 events/s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnichannel.canonical_event import CanonicalEvent
from profiles import wiring
from profiles.handlers import bus_batch
from profiles.logic.resolver_service import Outcome, Resolution
from profiles.observability import logger


class _Resolver:
    def __init__(self, resolution: Resolution) -> None:
        self.resolution = resolution

    def resolve(self, event: CanonicalEvent) -> Resolution:
        return self.resolution


@pytest.mark.parametrize(
    ("resolution", "logged"),
    [
        (Resolution(Outcome.UPDATED, profile_id="p-1"), []),
        (Resolution(Outcome.CREATED, profile_id="p-1"), []),
        (Resolution(Outcome.MERGED, profile_id="p-1", merged_ids=("p-2",)), ["merged"]),
        (Resolution(Outcome.UPDATED, profile_id="p-1", conflicts=1), ["updated"]),
    ],
)
def test_only_merges_and_conflicts_are_info_lines(
    resolution: Resolution, logged: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(wiring, "get_resolver", lambda: _Resolver(resolution))
    logger.setLevel("INFO")
    event = CanonicalEvent.model_validate(
        {"event_id": "e-1", "type": "page", "channel": "web", "occurred_at": datetime(2026, 12, 1, tzinfo=UTC),
         "received_at": datetime(2026, 12, 1, tzinfo=UTC), "source": "web", "message_id": "m-1",
         "identifiers": {"anonymous_id": "a-1"}}
    )  # fmt: skip

    bus_batch.resolve(event)

    infos = [r for r in caplog.records if r.getMessage() == "resolved" and r.levelname == "INFO"]
    assert [getattr(record, "outcome", None) for record in infos] == logged
