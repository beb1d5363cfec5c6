"""The profiles table's items, and their mapping to and from the domain.

- identifier index: ``ID#<type>#<value>`` / ``ID``: ``profile_id`` (may be a merged one: follow its pointer);
  ``tried_by`` (profiles that could not link it) and ``blocked_at`` once too many tried.
- profile: ``PROFILE#<id>`` / ``PROFILE``: version, identifiers, verified ``links``, traits, ``groups``, first
  touch, ``merged_spans``; or only ``merged_into`` once merged.
- merge log: ``PROFILE#<survivor>`` / ``MERGE#<merge_id>``: who, when, which event, which rule, both sides before.
- unmerge: ``PROFILE#<survivor>`` / ``UNMERGE#<merge_id>``: an admin undid that merge.
- conflict: ``PROFILE#<id>`` / ``CONFLICT#<event_id>#<n>``: an identifier a limit, a split or the asserted-link
  rule kept out (type and reason, never the value).
- suggested match: ``PROFILE#<id>`` / ``SUGGEST#<other id>``: an asserted link that did not merge, for staff.
- timeline: ``TL#<id>`` / ``<occurred_at>#<event_id>``: the resolver's decision that this event is this profile's,
  and the event's idempotency record (written on condition it is not there, with the change); ``ids``: the event's
  identifiers the profile held, as 64-bit binary digests (``omnichannel.timeline_reader.timeline_digest``; rows
  written before: full hex digests, a string set), ``expires_at``. No ``kind``, no ``event_id`` attribute (the
  sort key's): read them with ``timeline_reader.row_event_id`` / ``row_digests``.
- cross-reference: ``XREF#<digest>`` / ``<event_id>``: an event carrying the identifier of that digest that is in
  no timeline of the identifier's profile (resolved to another profile, or to none: the identifier was refused by a
  limit, a split or the asserted-link rule, or blocked), so that an erasure of the identifier's profile finds it;
  ``profile_id`` (where it was resolved, if anywhere), ``expires_at`` as the timeline's. Written only for such
  events (rare), and for the rows an unmerge leaves with the survivor though they carry restored identifiers.
- erasure request: ``ERASURE#<profile id>`` (or ``ERASURE#EVENT#<event_id>`` for one late event) / ``<part>#<hash>``:
  the stored events capture is to erase or redact, ``event_ids`` and ``erased`` (identifier digests, no values);
  the stream announces each once as ``events.erasure_requested`` (the table is the outbox); expires in 8 days.
- resolved event: ``EVENT#<event_id>`` / ``RESOLVED``: idempotency of an event without a timeline row (a
  customer's proof, a staff confirmation), written in the same transaction as the change.
- erasure: ``ERASED#<id>`` / ``ERASED``: who erased it and when (no personal data): answers 410.
- suppression: ``SUPPRESSED#<digest>`` / ``SUPPRESSED``: an erased identifier's one-way digest: never linked again
  until an admin lifts it.
- blocked value: ``BLOCKED`` / ``<type>#<value>``: a value seen on too many profiles, blocked automatically (the
  staff report).

Every item but a timeline row has ``kind``; the stream publisher filters on it.
"""

from __future__ import annotations

import json
from typing import Any

from omnichannel.identifiers import IdentifierType
from omnichannel.profile_directory import ID_SK, PROFILE_SK, identifier_pk, profile_pk
from profiles.models.profile import FirstTouch, GroupMembership, IdentifierSets, Profile, Stamp, TraitValue

__all__ = ["ID_SK", "PROFILE_SK", "identifier_pk", "profile_pk"]

RESOLVED_SK = "RESOLVED"
ERASED_SK = "ERASED"
SUPPRESSED_SK = "SUPPRESSED"
BLOCKED_PK = "BLOCKED"
TIMELINE_PREFIX = "TL#"
REFERENCE_PREFIX = "XREF#"
ERASURE_PREFIX = "ERASURE#"


def timeline_pk(profile_id: str) -> str:
    return f"{TIMELINE_PREFIX}{profile_id}"


def reference_pk(digest: str) -> str:
    return f"{REFERENCE_PREFIX}{digest}"


def suppressed_pk(digest: str) -> str:
    return f"SUPPRESSED#{digest}"


def links_to_json(links: dict[tuple[IdentifierType, str], str]) -> dict[str, str]:
    return {f"{kind.value}:{value}": label for (kind, value), label in sorted(links.items())}


def links_from_json(data: dict[str, str]) -> dict[tuple[IdentifierType, str], str]:
    found: dict[tuple[IdentifierType, str], str] = {}
    for key, label in data.items():
        kind, _, value = key.partition(":")
        found[(IdentifierType(kind), value)] = label
    return found


def event_pk(event_id: str) -> str:
    return f"EVENT#{event_id}"


def erased_pk(profile_id: str) -> str:
    return f"ERASED#{profile_id}"


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: int) -> dict[str, str]:
    return {"N": str(value)}


def identifiers_to_item(identifiers: IdentifierSets) -> dict[str, Any]:
    return {"M": {kind.value: {"L": [S(value) for value in sorted(values)]} for kind, values in identifiers.items()}}


def identifiers_from_item(item: dict[str, Any] | None) -> IdentifierSets:
    if not item:
        return {}
    return {IdentifierType(kind): {value["S"] for value in values["L"]} for kind, values in item["M"].items()}


def identifiers_to_json(identifiers: IdentifierSets) -> dict[str, list[str]]:
    return {kind.value: sorted(values) for kind, values in sorted(identifiers.items())}


def identifiers_from_json(data: dict[str, list[str]]) -> IdentifierSets:
    return {IdentifierType(kind): set(values) for kind, values in data.items()}


def profile_to_item(profile: Profile, *, change: dict[str, Any] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": S(profile_pk(profile.profile_id)),
        "sk": S(PROFILE_SK),
        "kind": S("profile"),
        "profile_id": S(profile.profile_id),
        "version": N(profile.version),
        "created_at": S(profile.created_at),
    }
    if profile.merged_into:
        item["merged_into"] = S(profile.merged_into)
        return item
    item["identifiers"] = identifiers_to_item(profile.identifiers)
    item["traits"] = S(json.dumps({name: value.to_item() for name, value in sorted(profile.traits.items())}))
    if profile.first_touch is not None:
        item["first_touch"] = S(json.dumps(profile.first_touch.to_item(), sort_keys=True))
    if profile.last_seen is not None:
        item["last_seen_at"] = S(profile.last_seen.occurred_at)
        item["last_seen_event"] = S(profile.last_seen.event_id)
    if profile.channels:
        item["channels"] = {"L": [S(channel) for channel in sorted(profile.channels)]}
    if profile.merged_ids:
        item["merged_ids"] = {"L": [S(merged) for merged in sorted(profile.merged_ids)]}
    if profile.split_from:
        item["split_from"] = {"L": [S(other) for other in sorted(profile.split_from)]}
    if profile.links:
        item["links"] = S(json.dumps(links_to_json(profile.links), sort_keys=True))
    if profile.groups:
        item["groups"] = S(json.dumps({gid: group.to_item() for gid, group in sorted(profile.groups.items())}))
    if profile.merged_spans:
        item["merged_spans"] = S(json.dumps(profile.merged_spans, sort_keys=True))
    if change is not None:
        item["change"] = S(json.dumps(change, sort_keys=True))
    return item


def _strings(item: dict[str, Any], name: str) -> set[str]:
    return {value["S"] for value in item.get(name, {}).get("L", [])}


def profile_from_item(item: dict[str, Any]) -> Profile:
    last_seen = Stamp(item["last_seen_at"]["S"], item["last_seen_event"]["S"]) if "last_seen_at" in item else None
    first_touch = FirstTouch.from_item(json.loads(item["first_touch"]["S"])) if "first_touch" in item else None
    traits = {
        name: TraitValue.from_item(value) for name, value in json.loads(item.get("traits", {}).get("S", "{}")).items()
    }
    return Profile(
        profile_id=item["profile_id"]["S"],
        version=int(item["version"]["N"]),
        created_at=item["created_at"]["S"],
        identifiers=identifiers_from_item(item.get("identifiers")),
        traits=traits,
        first_touch=first_touch,
        last_seen=last_seen,
        channels=_strings(item, "channels"),
        merged_into=item.get("merged_into", {}).get("S"),
        merged_ids=_strings(item, "merged_ids"),
        split_from=_strings(item, "split_from"),
        links=links_from_json(json.loads(item["links"]["S"])) if "links" in item else {},
        groups=_groups(json.loads(item["groups"]["S"])) if "groups" in item else {},
        merged_spans=json.loads(item["merged_spans"]["S"]) if "merged_spans" in item else {},
    )


def _groups(data: dict[str, Any]) -> dict[str, GroupMembership]:
    return {gid: GroupMembership.from_item(value) for gid, value in data.items()}


def profile_to_json(profile: Profile) -> str:
    """A profile as it was, for the merge log (what an unmerge restores)."""
    return json.dumps(
        {
            "profile_id": profile.profile_id,
            "version": profile.version,
            "created_at": profile.created_at,
            "identifiers": identifiers_to_json(profile.identifiers),
            "traits": {name: value.to_item() for name, value in sorted(profile.traits.items())},
            "first_touch": profile.first_touch.to_item() if profile.first_touch else None,
            "last_seen": [profile.last_seen.occurred_at, profile.last_seen.event_id] if profile.last_seen else None,
            "channels": sorted(profile.channels),
            "merged_ids": sorted(profile.merged_ids),
            "split_from": sorted(profile.split_from),
            "links": links_to_json(profile.links),
            "groups": {gid: group.to_item() for gid, group in sorted(profile.groups.items())},
            "merged_spans": profile.merged_spans,
        },
        sort_keys=True,
    )


def profile_from_json(text: str) -> Profile:
    data = json.loads(text)
    return Profile(
        profile_id=data["profile_id"],
        version=int(data["version"]),
        created_at=data["created_at"],
        identifiers=identifiers_from_json(data["identifiers"]),
        traits={name: TraitValue.from_item(value) for name, value in data["traits"].items()},
        first_touch=FirstTouch.from_item(data["first_touch"]) if data.get("first_touch") else None,
        last_seen=Stamp(*data["last_seen"]) if data.get("last_seen") else None,
        channels=set(data.get("channels") or ()),
        merged_ids=set(data.get("merged_ids") or ()),
        split_from=set(data.get("split_from") or ()),
        links=links_from_json(data.get("links") or {}),
        groups=_groups(data.get("groups") or {}),
        merged_spans=dict(data.get("merged_spans") or {}),
    )
