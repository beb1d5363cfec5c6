"""DynamoDB stream entry point: announces profile changes on the bus.

The table is the outbox: a profile item written with a ``change`` (created, identifiers added, traits changed)
becomes ``profile.created`` / ``profile.updated``; a merge log item ``profile.merged``; an unmerge item
``profile.unmerged``; an erasure request item (the stored events capture is to erase, by id, and the erased
identifiers' digests) ``events.erasure_requested``. (``profile.erased`` is published by the erasure request
itself, before it deletes anything, so no personal data waits in the table for the stream.) Event ids derive
from the item and its version (a request's, from its key), so a stream batch retried publishes the same ids again
and consumers drop the repeat. If the bus refuses entries after the publisher's retries, the batch is reported
back from the first failed record and the stream retries it (then bisects, then the failure queue): at least once,
never lost silently. The batch's events go out in bundles (``BusBundling``, ``omnichannel.event_bus``), the
retries still reckoned per event. The same shell as every table's outbox (``omnichannel.stream_outbox``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from omnichannel.event_bus import BusEvent, bus_publisher
from omnichannel.profile_events import (
    PROFILES_SOURCE,
    EventsErasureRequested,
    ProfileCreated,
    ProfileEventType,
    ProfileMerged,
    ProfileUnmerged,
    ProfileUpdated,
    profile_event_id,
)
from omnichannel.stream_outbox import publish_stream_batch
from profiles import wiring
from profiles.dal.items import identifiers_from_item, identifiers_to_json
from profiles.observability import logger, metrics, tracer


def _text(image: Mapping[str, Any], name: str) -> str:
    return str(image[name]["S"])


def profile_event_of(image: Mapping[str, Any]) -> tuple[ProfileEventType, BaseModel] | None:
    """The bus event a stored item announces, if any."""
    kind = image.get("kind", {}).get("S")
    if kind == "profile":
        if "merged_into" in image or "change" not in image:
            return None  # a merged profile's pointer: the merge log item announces it
        change = json.loads(_text(image, "change"))
        profile_id = _text(image, "profile_id")
        version = image["version"]["N"]
        event_id = profile_event_id("profile", profile_id, version)
        occurred_at = image.get("last_seen_at", image["created_at"])["S"]
        if change.get("created"):
            identifiers = identifiers_to_json(identifiers_from_item(image.get("identifiers")))
            return ProfileEventType.CREATED, ProfileCreated(
                event_id=event_id,
                occurred_at=occurred_at,
                profile_id=profile_id,
                identifiers=identifiers,
                verified_identifiers=change.get("anchored") or {},
                cause_event_id=change.get("event_id"),
            )
        if change.get("added") or change.get("traits") or change.get("anchored"):
            return ProfileEventType.UPDATED, ProfileUpdated(
                event_id=event_id,
                occurred_at=occurred_at,
                profile_id=profile_id,
                added_identifiers=change.get("added") or {},
                verified_added=change.get("anchored") or {},
                changed_traits=change.get("traits") or [],
                cause_event_id=change.get("event_id"),
            )
        return None
    if kind == "merge":
        return ProfileEventType.MERGED, ProfileMerged(
            event_id=profile_event_id("merged", _text(image, "merge_id")),
            occurred_at=_text(image, "merged_at"),
            merge_id=_text(image, "merge_id"),
            survivor_id=_text(image, "survivor_id"),
            merged_id=_text(image, "merged_id"),
            rule=_text(image, "rule"),
            cause_event_id=_text(image, "cause_event_id"),
            moved_identifiers=json.loads(_text(image, "moved_identifiers")),
        )
    if kind == "erasure":
        return ProfileEventType.EVENTS_ERASURE_REQUESTED, EventsErasureRequested(
            event_id=profile_event_id("events-erasure", _text(image, "pk"), _text(image, "sk")),
            occurred_at=_text(image, "requested_at"),
            profile_id=image.get("profile_id", {}).get("S"),
            profile_ids=[value["S"] for value in image.get("profile_ids", {}).get("L", [])],
            erased=sorted(image["erased"]["SS"]),
            event_ids=sorted(image["event_ids"]["SS"]),
            part=int(image["part"]["N"]),
            parts=int(image["parts"]["N"]),
        )
    if kind == "unmerge":
        return ProfileEventType.UNMERGED, ProfileUnmerged(
            event_id=profile_event_id("unmerged", _text(image, "merge_id")),
            occurred_at=_text(image, "at"),
            merge_id=_text(image, "merge_id"),
            survivor_id=_text(image, "survivor_id"),
            restored_id=_text(image, "restored_id"),
            restored_identifiers=json.loads(_text(image, "restored_identifiers")),
        )
    return None


def announced(new: Mapping[str, Any], _old: Mapping[str, Any]) -> list[BusEvent]:
    """The profile event a written item announces (the table is the outbox: ``omnichannel.stream_outbox``)."""
    found = profile_event_of(new)
    if found is None:
        return []
    kind, detail = found
    payload = detail.model_dump(mode="json")
    return [BusEvent(event_id=str(payload["event_id"]), source=PROFILES_SOURCE, detail_type=kind.value, detail=payload)]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return publish_stream_batch(
        event.get("Records", []), bus_publisher(wiring.get_publisher()), announced, logger=logger, metrics=metrics
    )
