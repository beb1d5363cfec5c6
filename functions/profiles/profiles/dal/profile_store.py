"""All reads and writes of the profiles table (nothing above this module touches boto3).

A resolution reads with two BatchGetItem calls (the event's identifier items and their suppression markers; then
the profiles they name, following merge pointers) and writes one TransactWriteItems conditioned on every version it
read, so two resolvers working on the same profiles cannot both win: the loser's transaction is cancelled and it
reads again. The event's timeline row is its idempotency record, written on condition that it is not there: alone
(after the transaction, if any), or first in the transaction when resolving the event again would record a
conflict again; a redelivery finds it and changes nothing (see ``commit``). Re-pointing a merged profile's
identifier items to the survivor happens after the commit and is only an optimisation: lookups follow
``merged_into`` pointers until then.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.dynamodb import cancellation_codes, condition_failed, error_code, ttl_after
from omnichannel.identifiers import IdentifierType, identifier_digest
from omnichannel.profile_events import EVENT_IDS_PER_ERASURE_REQUEST, profile_event_id
from omnichannel.timeline_reader import row_digests, row_event_id, timeline_digest
from profiles.dal.items import (
    BLOCKED_PK,
    ERASED_SK,
    ERASURE_PREFIX,
    ID_SK,
    PROFILE_SK,
    RESOLVED_SK,
    SUPPRESSED_SK,
    N,
    S,
    erased_pk,
    event_pk,
    identifier_pk,
    identifiers_to_json,
    profile_from_item,
    profile_from_json,
    profile_pk,
    profile_to_item,
    profile_to_json,
    reference_pk,
    suppressed_pk,
    timeline_pk,
)
from profiles.logic.identity_rules import Identifier
from profiles.logic.ports import (
    AlreadyResolved,
    BlockedValue,
    ConcurrentChange,
    ErasureResult,
    GraphView,
    MergeRecord,
    Suggestion,
)
from profiles.logic.resolution import Plan, TimelineEntry
from profiles.models.profile import Profile

RESOLVED_RETENTION = timedelta(days=8)  # longer than any redelivery (EventBridge retries for at most a day)
ERASURE_REQUEST_RETENTION = RESOLVED_RETENTION  # the stream has published it long before (it keeps 24 hours)
MAX_POINTER_HOPS = 16
_BATCH_GET = 100
_BATCH_WRITE = 25
_TRANSACTION = 100


def _records_again(plan: Plan) -> bool:
    """Whether resolving the event again would record something again (a conflict, a suggested match, a value
    tried): its timeline row then goes in the transaction, as the condition that stops it."""
    return bool(plan.conflicts or plan.suggestions or plan.tried)


def merge_id_for(survivor_id: str, merged_id: str, event_id: str) -> str:
    return profile_event_id("merge", survivor_id, merged_id, event_id)


def _at(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_sets(identifiers: Iterable[Identifier]) -> dict[IdentifierType, set[str]]:
    grouped: dict[IdentifierType, set[str]] = {}
    for kind, value in identifiers:
        grouped.setdefault(kind, set()).add(value)
    return grouped


def _put(
    table: str, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": item}
    if condition:
        put["ConditionExpression"] = condition
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


class DynamoDBProfileStore:
    def __init__(self, client: Any, table_name: str, *, timeline_retention_days: int = 395) -> None:
        self._client = client
        self._table = table_name
        self._timeline_retention = timedelta(days=timeline_retention_days)

    # ------------------------------------------------------------------ reads
    def _batch_get(self, keys: Sequence[dict[str, Any]], *, projection: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": list(keys[start : start + _BATCH_GET]),
                    "ConsistentRead": True,
                    **({"ProjectionExpression": projection} if projection else {}),
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def load_profiles(self, profile_ids: Iterable[str]) -> dict[str, Profile]:
        """Profiles by id, each followed to its survivor: ``{asked id: root profile}`` (erased ones missing)."""
        asked = list(dict.fromkeys(profile_ids))
        seen: dict[str, Profile | None] = {}
        wanted = set(asked)
        for _ in range(MAX_POINTER_HOPS):
            wanted -= seen.keys()
            if not wanted:
                break
            keys = [{"pk": S(profile_pk(pid)), "sk": S(PROFILE_SK)} for pid in sorted(wanted)]
            found = {profile.profile_id: profile for profile in map(profile_from_item, self._batch_get(keys))}
            for pid in wanted:
                seen[pid] = found.get(pid)
            wanted = {profile.merged_into for profile in found.values() if profile.merged_into}
        resolved: dict[str, Profile] = {}
        for pid in asked:
            current = seen.get(pid)
            for _ in range(MAX_POINTER_HOPS):
                if current is None or not current.merged_into:
                    break
                current = seen.get(current.merged_into)
            if current is not None and not current.merged_into:
                resolved[pid] = current
        return resolved

    def read_graph(self, identifiers: Sequence[Identifier], event_id: str, *, marker: bool = False) -> GraphView:
        """The event's identifiers' items and their suppression markers (with ``marker``, its ``RESOLVED`` item)
        in one batch; then the profiles they name."""
        digests = {identifier_digest(*identifier): identifier for identifier in identifiers}
        keys = [{"pk": S(event_pk(event_id)), "sk": S(RESOLVED_SK)}] if marker else []
        keys += [{"pk": S(identifier_pk(kind, value)), "sk": S(ID_SK)} for kind, value in identifiers]
        keys += [{"pk": S(suppressed_pk(digest)), "sk": S(SUPPRESSED_SK)} for digest in digests]
        direct: dict[Identifier, str] = {}
        view = GraphView(already_resolved=False)
        for item in self._batch_get(keys):
            sk = item["sk"]["S"]
            if sk == RESOLVED_SK:
                view.already_resolved = True
            elif sk == SUPPRESSED_SK:
                suppressed = digests[item["pk"]["S"].removeprefix("SUPPRESSED#")]
                view.excluded.add(suppressed)
                view.suppressed.add(suppressed)
            else:
                _, kind, value = item["pk"]["S"].split("#", 2)
                identifier = (IdentifierType(kind), value)
                if "blocked_at" in item:
                    view.excluded.add(identifier)
                direct[identifier] = item["profile_id"]["S"]
        if view.already_resolved or not direct:
            return view
        roots = self.load_profiles(direct.values())
        for identifier, profile_id in direct.items():
            root = roots.get(profile_id)
            if root is None:
                view.orphans[identifier] = profile_id  # its profile was erased while this item survived
                continue
            view.owners[identifier] = root.profile_id
            view.profiles[root.profile_id] = root
            if root.profile_id != profile_id:
                view.stale[identifier] = root.profile_id
        return view

    def owner_of(self, identifier: Identifier) -> Profile | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": S(identifier_pk(*identifier)), "sk": S(ID_SK)},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return None
        return self.load_profiles([item["profile_id"]["S"]]).get(item["profile_id"]["S"])

    def get_profile(self, profile_id: str) -> Profile | None:
        """The profile ``profile_id`` is now part of (itself, or its survivor)."""
        return self.load_profiles([profile_id]).get(profile_id)

    def _query_partition(self, pk: str, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else ""),
            "ExpressionAttributeValues": {":pk": S(pk), **({":prefix": S(prefix)} if prefix else {})},
        }
        while True:
            response = self._client.query(**request)
            yield from response.get("Items", [])
            if not response.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def merges_of(self, survivor_id: str) -> list[MergeRecord]:
        records = [_merge_record(item) for item in self._query_partition(profile_pk(survivor_id), "MERGE#")]
        return sorted(records, key=lambda record: (record.merged_at, record.merge_id))

    def conflicts_of(self, profile_id: str) -> list[dict[str, str]]:
        return [
            {key: item[key]["S"] for key in ("event_id", "identifier_type", "reason", "at") if key in item}
            for item in self._query_partition(profile_pk(profile_id), "CONFLICT#")
        ]

    def suggestions_of(self, profile_id: str) -> list[Suggestion]:
        return [
            Suggestion(
                profile_id=profile_id,
                other_id=item["other_id"]["S"],
                identifier_type=item["identifier_type"]["S"],
                reason=item["reason"]["S"],
                cause_event_id=item["cause_event_id"]["S"],
                at=item["at"]["S"],
            )
            for item in self._query_partition(profile_pk(profile_id), "SUGGEST#")
        ]

    def forget_suggestion(self, profile_id: str, other_id: str) -> None:
        """Both sides of a suggested match, once staff confirmed it."""
        for owner, other in ((profile_id, other_id), (other_id, profile_id)):
            self._client.delete_item(
                TableName=self._table, Key={"pk": S(profile_pk(owner)), "sk": S(f"SUGGEST#{other}")}
            )

    def is_erased(self, profile_id: str) -> bool:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": S(erased_pk(profile_id)), "sk": S(ERASED_SK)}
        ).get("Item")
        return item is not None

    # ------------------------------------------------------------------ the resolution write
    def commit(self, plan: Plan, *, now: datetime) -> None:
        """Write ``plan`` atomically; :class:`ConcurrentChange` if any profile moved since it was read,
        :class:`AlreadyResolved` if the event was resolved meanwhile."""
        at = _at(now)
        plan.survivor.version = (plan.base_version or 0) + 1
        # The timeline row is the event's idempotency record, alone after the transaction (a row in a transaction
        # costs twice as much). What the transaction writes is exact without it: a profile the event creates is
        # its own record (its id is the event's: only this event creates it, so its failed condition means the
        # event was resolved); anything else is a fold a state that holds the event already leaves unchanged
        # (identifiers and links are sets, traits and touches maxima and minima of a total order, a merge is
        # done once), so a redelivery plans nothing and finds the row. A crash between the two leaves the row to
        # the redelivery. Conflicts, suggested matches and tried values would be recorded again: a plan with
        # any keeps the row first in its transaction, on condition it is not there. An event without a row
        # (a proof, a staff confirmation) has its RESOLVED item first instead.
        items: list[dict[str, Any]] = []
        row_in_transaction = plan.timeline is not None and not plan.created and _records_again(plan)
        if plan.timeline is None:
            items.append(self._resolved_item(plan, now))
        elif row_in_transaction:
            items.append(self._timeline_put(plan.timeline))
        first_is_record = bool(items) or plan.created
        items.append(self._survivor_item(plan))
        for loser in plan.merged:
            items += self._merge_items(plan, loser, at)
        items += [
            self._identifier_item(identifier, plan.survivor.profile_id, plan.event_id, at)
            for identifier in plan.new_identifiers
        ]
        items += self._conflict_items(plan, at)
        items += self._suggestion_items(plan, at)
        if len(items) > _TRANSACTION:
            raise ValueError(f"a resolution touching {len(items)} items does not fit one transaction")
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if first_is_record and codes and codes[0] == "ConditionalCheckFailed":
                raise AlreadyResolved(plan.event_id) from exc
            if codes or error_code(exc) in {"TransactionConflictException", "TransactionInProgressException"}:
                raise ConcurrentChange(plan.event_id) from exc
            raise
        if plan.timeline is not None and not row_in_transaction:
            with contextlib.suppress(AlreadyResolved):  # a copy of the event, resolved at once, wrote it
                self.record_timeline(plan.timeline)

    def _resolved_item(self, plan: Plan, now: datetime) -> dict[str, Any]:
        item = {
            "pk": S(event_pk(plan.event_id)),
            "sk": S(RESOLVED_SK),
            "kind": S("resolved"),
            "profile_id": S(plan.survivor.profile_id),
            "expires_at": N(ttl_after(now, RESOLVED_RETENTION)),
        }
        return _put(self._table, item, "attribute_not_exists(pk)")

    def _survivor_item(self, plan: Plan) -> dict[str, Any]:
        change = {
            "event_id": plan.event_id,
            "added": identifiers_to_json(_as_sets(plan.new_identifiers)),
            "traits": plan.changed_traits,
            "created": plan.created,
            "anchored": identifiers_to_json(_as_sets(plan.anchored_added)),
        }
        item = profile_to_item(plan.survivor, change=change)
        if plan.created:
            return _put(self._table, item, "attribute_not_exists(pk)")
        return _put(
            self._table, item, "version = :v AND attribute_not_exists(merged_into)", {":v": N(plan.base_version or 0)}
        )

    def _merge_items(self, plan: Plan, loser: Profile, at: str) -> list[dict[str, Any]]:
        survivor = plan.survivor
        pointer = Profile(
            profile_id=loser.profile_id,
            version=loser.version + 1,
            created_at=loser.created_at,
            merged_into=survivor.profile_id,
        )
        pointer_item = profile_to_item(pointer)
        pointer_item["merged_at"] = S(at)
        merge_id = merge_id_for(survivor.profile_id, loser.profile_id, plan.event_id)
        log = {
            "pk": S(profile_pk(survivor.profile_id)),
            "sk": S(f"MERGE#{merge_id}"),
            "kind": S("merge"),
            "merge_id": S(merge_id),
            "survivor_id": S(survivor.profile_id),
            "merged_id": S(loser.profile_id),
            "rule": S(plan.rule or "identifier"),
            "cause_event_id": S(plan.event_id),
            "merged_at": S(at),
            "merged_profile": S(profile_to_json(loser)),
            "moved_identifiers": S(json.dumps(identifiers_to_json(loser.identifiers))),
            # The survivor as it was before this merge: what an unmerge gives back to it.
            "survivor_before": S(profile_to_json(plan.survivor_before or survivor)),
        }
        return [
            _put(
                self._table,
                pointer_item,
                "version = :v AND attribute_not_exists(merged_into)",
                {":v": N(loser.version)},
            ),
            _put(self._table, log),
        ]

    def _identifier_item(self, identifier: Identifier, profile_id: str, cause: str, at: str) -> dict[str, Any]:
        item = {
            "pk": S(identifier_pk(*identifier)),
            "sk": S(ID_SK),
            "kind": S("id"),
            "profile_id": S(profile_id),
            "linked_at": S(at),
            "event_id": S(cause),
        }
        return _put(self._table, item, "attribute_not_exists(pk)")

    def _conflict_items(self, plan: Plan, at: str) -> list[dict[str, Any]]:
        return [
            _put(
                self._table,
                {
                    "pk": S(profile_pk(plan.survivor.profile_id)),
                    "sk": S(f"CONFLICT#{plan.event_id}#{number}"),
                    "kind": S("conflict"),
                    "event_id": S(plan.event_id),
                    "identifier_type": S(conflict.identifier[0].value),
                    "reason": S(conflict.reason),
                    "at": S(at),
                },
            )
            for number, conflict in enumerate(plan.conflicts)
        ]

    def _suggestion_items(self, plan: Plan, at: str) -> list[dict[str, Any]]:
        """Both sides of each suggested match (the latest cause wins): each profile's view lists the other."""
        items: list[dict[str, Any]] = []
        for suggestion in {match.other_id: match for match in plan.suggestions}.values():
            for owner, other in (
                (plan.survivor.profile_id, suggestion.other_id),
                (suggestion.other_id, plan.survivor.profile_id),
            ):
                item = {
                    "pk": S(profile_pk(owner)),
                    "sk": S(f"SUGGEST#{other}"),
                    "kind": S("suggestion"),
                    "other_id": S(other),
                    "identifier_type": S(suggestion.identifier[0].value),
                    "reason": S(suggestion.reason),
                    "cause_event_id": S(plan.event_id),
                    "at": S(at),
                }
                items.append(_put(self._table, item))
        return items

    def _timeline_item(self, entry: TimelineEntry) -> dict[str, Any]:
        """Kept as slim as the timeline allows (one per event, for a year): the event id is the sort key's, the
        identifiers 64-bit binary digests (``timeline_reader.timeline_digest``); no ``kind`` (the stream's filter
        drops it anyway)."""
        item: dict[str, Any] = {
            "pk": S(timeline_pk(entry.profile_id)),
            "sk": S(entry.sort_key),
            "expires_at": N(ttl_after(entry.received_at, self._timeline_retention)),
        }
        if entry.digests:
            item["ids"] = {"BS": sorted({timeline_digest(digest) for digest in entry.digests})}
        return item

    def _timeline_put(self, entry: TimelineEntry) -> dict[str, Any]:
        return _put(self._table, self._timeline_item(entry), "attribute_not_exists(pk)")

    def record_timeline(self, entry: TimelineEntry) -> None:
        """The timeline row of an event that changes nothing else; :class:`AlreadyResolved` if it is there."""
        try:
            self._client.put_item(**self._timeline_put(entry)["Put"])
        except ClientError as exc:
            if condition_failed(exc):
                raise AlreadyResolved(entry.event_id) from exc
            raise

    def recorded_in(self, entry: TimelineEntry, profile_ids: Iterable[str]) -> bool:
        """Whether one of these profiles' partitions holds the event's timeline row (read consistently)."""
        keys = [{"pk": S(timeline_pk(pid)), "sk": S(entry.sort_key)} for pid in sorted(set(profile_ids))]
        return bool(keys) and bool(self._batch_get(keys, projection="pk"))

    # ------------------------------------------------------------------ what an erasure will need to find
    def _reference_item(
        self, digest: str, event_id: str, profile_id: str | None, expires_at: dict[str, str]
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": S(reference_pk(digest)),
            "sk": S(event_id),
            "kind": S("reference"),
            "expires_at": expires_at,
        }
        if profile_id:
            item["profile_id"] = S(profile_id)
        return item

    def record_references(
        self, event_id: str, digests: Iterable[str], *, profile_id: str | None, received_at: datetime
    ) -> int:
        """An event carrying identifiers (digests) that it is not in a timeline of their profile for (resolved to
        ``profile_id``, or to nobody): one ``XREF#<digest>`` row each, kept as long as a timeline row, so that the
        erasure of whoever holds the identifier finds the event. Idempotent (a redelivery writes the same rows)."""
        expires_at = N(ttl_after(received_at, self._timeline_retention))
        unique = sorted(set(digests))
        self._batch_write(
            [
                {"PutRequest": {"Item": self._reference_item(digest, event_id, profile_id, expires_at)}}
                for digest in unique
            ]
        )
        return len(unique)

    def request_late_erasure(self, event_id: str, digests: Iterable[str], *, now: datetime) -> None:
        """A stored event that arrived after its customer's erasure, carrying suppressed identifiers (digests):
        capture is asked to erase it, or take the identifiers out if it is someone else's (the stream announces the
        request, ``events.erasure_requested``). Idempotent: the same event asks the same request again."""
        self._put_erasure_requests(f"EVENT#{event_id}", [event_id], digests, None, [], now=now)

    def _put_erasure_requests(
        self,
        key: str,
        event_ids: Iterable[str],
        digests: Iterable[str],
        profile_id: str | None,
        profile_ids: Sequence[str],
        *,
        now: datetime,
    ) -> int:
        """``event_ids`` in parts of ``EVENT_IDS_PER_ERASURE_REQUEST``, one item each (the stream announces each
        item it inserts). A part's sort key carries a hash of what it names, so the same request written again is
        the same item, and a different one (a retried erasure that finds less) is another."""
        ids = sorted(set(event_ids))
        erased = sorted(set(digests))
        if not ids or not erased:
            return 0
        parts = [
            ids[start : start + EVENT_IDS_PER_ERASURE_REQUEST]
            for start in range(0, len(ids), EVENT_IDS_PER_ERASURE_REQUEST)
        ]
        requests: list[dict[str, Any]] = []
        for number, part in enumerate(parts, start=1):
            digest = hashlib.sha256("\x1f".join([*part, "", *erased]).encode()).hexdigest()[:16]
            item: dict[str, Any] = {
                "pk": S(ERASURE_PREFIX + key),
                "sk": S(f"{number:05d}#{digest}"),
                "kind": S("erasure"),
                "event_ids": {"SS": part},
                "erased": {"SS": erased},
                "profile_ids": {"L": [S(pid) for pid in profile_ids]},
                "part": N(number),
                "parts": N(len(parts)),
                "requested_at": S(_at(now)),
                "expires_at": N(ttl_after(now, ERASURE_REQUEST_RETENTION)),
            }
            if profile_id:
                item["profile_id"] = S(profile_id)
            requests.append({"PutRequest": {"Item": item}})
        self._batch_write(requests)
        return len(ids)

    def repoint(self, plan: Plan, stale: dict[Identifier, str]) -> int:
        """After a merge: point the merged profiles' identifier items, and older pointers, at the survivor (chains
        collapse). Best effort, conditional on still pointing where they did; returns the writes made."""
        survivor = plan.survivor.profile_id
        writes = 0
        targets: list[tuple[Identifier, str]] = [
            ((kind, value), loser.profile_id)
            for loser in plan.merged
            for kind, values in loser.identifiers.items()
            for value in values
        ]
        targets += [(identifier, old) for identifier, old in stale.items() if old != survivor]
        for identifier, old in targets:
            writes += self._conditional_update(
                {"pk": S(identifier_pk(*identifier)), "sk": S(ID_SK)},
                "SET profile_id = :new",
                "profile_id = :old",
                {":new": S(survivor), ":old": S(old)},
            )
        for loser in plan.merged:
            for older in loser.merged_ids:
                writes += self._conditional_update(
                    {"pk": S(profile_pk(older)), "sk": S(PROFILE_SK)},
                    "SET merged_into = :new",
                    "merged_into = :old",
                    {":new": S(survivor), ":old": S(loser.profile_id)},
                )
        return writes

    def adopt_orphans(self, orphans: dict[Identifier, str]) -> int:
        """Identifier items whose profile was erased meanwhile: delete them, so the identifier is new again."""
        deleted = 0
        for identifier, gone in orphans.items():
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": S(identifier_pk(*identifier)), "sk": S(ID_SK)},
                    ConditionExpression="profile_id = :gone",
                    ExpressionAttributeValues={":gone": S(gone)},
                )
                deleted += 1
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
        return deleted

    def note_tried(self, tried: Iterable[tuple[Identifier, str]], *, threshold: int, now: datetime) -> list[Identifier]:
        """Remember which profiles could not link each identifier; block (and report) one that ``threshold``
        profiles have tried. Best effort, after the resolution's commit."""
        blocked: list[Identifier] = []
        for identifier, profile_id in tried:
            key = {"pk": S(identifier_pk(*identifier)), "sk": S(ID_SK)}
            try:
                attributes = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="ADD tried_by :p",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(blocked_at)",
                    ExpressionAttributeValues={":p": {"SS": [profile_id]}},
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            except ClientError as exc:
                if condition_failed(exc):
                    continue
                raise
            count = len(attributes.get("tried_by", {}).get("SS", []))
            if count < threshold:
                continue
            if self._conditional_update(
                key, "SET blocked_at = :at", "attribute_not_exists(blocked_at)", {":at": S(_at(now))}
            ):
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "pk": S(BLOCKED_PK),
                        "sk": S(f"{identifier[0].value}#{identifier[1]}"),
                        "kind": S("blocked"),
                        "identifier_type": S(identifier[0].value),
                        "value": S(identifier[1]),
                        "profiles": N(count),
                        "blocked_at": S(_at(now)),
                    },
                )
                blocked.append(identifier)
        return blocked

    def blocked_values(self) -> list[BlockedValue]:
        return [
            BlockedValue(
                identifier_type=item["identifier_type"]["S"],
                value=item["value"]["S"],
                profiles=int(item["profiles"]["N"]),
                blocked_at=item["blocked_at"]["S"],
            )
            for item in self._query_partition(BLOCKED_PK)
        ]

    def unblock(self, identifier: Identifier) -> bool:
        """Let a blocked value link again (an admin's decision): its counter starts afresh."""
        removed = self._conditional_update(
            {"pk": S(identifier_pk(*identifier)), "sk": S(ID_SK)},
            "REMOVE blocked_at, tried_by",
            "attribute_exists(blocked_at)",
            {},
        )
        self._client.delete_item(
            TableName=self._table, Key={"pk": S(BLOCKED_PK), "sk": S(f"{identifier[0].value}#{identifier[1]}")}
        )
        return bool(removed)

    def _conditional_update(self, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]) -> int:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": update,
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._client.update_item(**request)
        except ClientError as exc:
            if condition_failed(exc):
                return 0
            raise
        return 1

    # ------------------------------------------------------------------ unmerge (the workflow: logic/unmerge.py)
    def merge_record(self, survivor_id: str, merge_id: str) -> MergeRecord | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": S(profile_pk(survivor_id)), "sk": S(f"MERGE#{merge_id}")},
            ConsistentRead=True,
        ).get("Item")
        return _merge_record(item) if item else None

    def pointer_version(self, profile_id: str) -> int | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": S(profile_pk(profile_id)), "sk": S(PROFILE_SK)},
            ConsistentRead=True,
        ).get("Item")
        return int(item["version"]["N"]) if item else None

    def commit_unmerge(
        self, kept: Profile, restored: Profile, *, kept_base: int, restored_base: int, merge_id: str, now: datetime
    ) -> None:
        at = _at(now)
        unmerge = {
            "pk": S(profile_pk(kept.profile_id)),
            "sk": S(f"UNMERGE#{merge_id}"),
            "kind": S("unmerge"),
            "merge_id": S(merge_id),
            "survivor_id": S(kept.profile_id),
            "restored_id": S(restored.profile_id),
            "restored_identifiers": S(json.dumps(identifiers_to_json(restored.identifiers))),
            "at": S(at),
        }
        transaction: list[dict[str, Any]] = [
            _put(
                self._table,
                profile_to_item(kept, change={"event_id": f"unmerge:{merge_id}", "added": {}, "traits": []}),
                "version = :v AND attribute_not_exists(merged_into)",
                {":v": N(kept_base)},
            ),
            _put(
                self._table,
                profile_to_item(restored),
                "version = :v AND merged_into = :s",
                {":v": N(restored_base), ":s": S(kept.profile_id)},
            ),
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": S(profile_pk(kept.profile_id)), "sk": S(f"MERGE#{merge_id}")},
                    "UpdateExpression": "SET undone_at = :at",
                    "ConditionExpression": "attribute_not_exists(undone_at)",
                    "ExpressionAttributeValues": {":at": S(at)},
                }
            },
            _put(self._table, unmerge),
        ]
        try:
            self._client.transact_write_items(TransactItems=transaction)
        except ClientError as exc:
            if cancellation_codes(exc):
                raise ConcurrentChange(merge_id) from exc
            raise

    def restore_identifiers(self, restored: Profile, *, merge_id: str, now: datetime) -> None:
        """The identifiers go back to the restored profile; then the pointers of profiles merged into it before."""
        at = _at(now)
        for kind, values in restored.identifiers.items():
            for value in values:
                item = self._identifier_item((kind, value), restored.profile_id, f"unmerge:{merge_id}", at)
                self._client.put_item(TableName=self._table, Item=item["Put"]["Item"])
        for older in restored.merged_ids:
            self._conditional_update(
                {"pk": S(profile_pk(older)), "sk": S(PROFILE_SK)},
                "SET merged_into = :new",
                "attribute_exists(merged_into)",
                {":new": S(restored.profile_id)},
            )

    def move_timeline(self, from_profile: str, to_profile: str, identifiers: set[Identifier]) -> int:
        """Timeline rows of ``from_profile`` whose identifiers are all among ``identifiers`` move to ``to_profile``
        (after an unmerge: what the restored side did while it was merged). Reads the whole partition: rare."""
        full = {identifier_digest(*identifier) for identifier in identifiers}
        digests = {timeline_digest(digest) for digest in full}
        rows = [item for item in self._query_partition(timeline_pk(from_profile)) if row_digests(item)]
        moving = [item for item in rows if row_digests(item) <= digests]
        requests: list[dict[str, Any]] = []
        for item in moving:
            requests.append({"PutRequest": {"Item": {**item, "pk": S(timeline_pk(to_profile))}}})
            requests.append({"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}})
        # A row that stays (it carries the survivor's identifiers too) but carries restored ones: a cross-reference
        # each, so that the restored profile's erasure still finds the event.
        for item in rows:
            held = row_digests(item)
            shared = {digest for digest in full if timeline_digest(digest) in held}
            if shared and item not in moving:
                expires_at = item.get("expires_at") or N(ttl_after(datetime.now(UTC), self._timeline_retention))
                requests += [
                    {"PutRequest": {"Item": self._reference_item(digest, row_event_id(item), from_profile, expires_at)}}
                    for digest in sorted(shared)
                ]
        self._batch_write(requests)
        return len(moving)

    # ------------------------------------------------------------------ erasure (the workflow: logic/erasure.py)
    def erase(self, profile: Profile, *, requested_by: str, now: datetime) -> ErasureResult:
        """Delete the profile, every profile merged into it, their identifier items, merge log, conflicts,
        suggestions, timeline rows and the cross-references of their identifiers; first ask capture to erase the
        stored events those name (``events.erasure_requested``, through the stream), so that a failure after it
        leaves the request standing.

        What stays is a marker ``ERASED#<id>`` per erased profile id, without any personal data: who asked and
        when (the controller's record of the request), so the API can answer 410 Gone. Repeatable.
        """
        profile_ids = sorted({profile.profile_id} | profile.merged_ids)
        at = _at(now)
        keys = [
            {"pk": S(identifier_pk(kind, value)), "sk": S(ID_SK)}
            for kind, values in profile.identifiers.items()
            for value in values
        ]
        digests = sorted(identifier_digest(*identifier) for identifier in profile.identifier_pairs())
        event_ids: list[str] = []
        for pid in profile_ids:
            keys += [{"pk": item["pk"], "sk": item["sk"]} for item in self._query_partition(profile_pk(pid))]
            for item in self._query_partition(timeline_pk(pid)):
                keys.append({"pk": item["pk"], "sk": item["sk"]})
                event_ids.append(row_event_id(item))
        for digest in digests:
            for item in self._query_partition(reference_pk(digest)):
                keys.append({"pk": item["pk"], "sk": item["sk"]})
                event_ids.append(item["sk"]["S"])
        named = self._put_erasure_requests(
            profile.profile_id, event_ids, digests, profile.profile_id, profile_ids, now=now
        )
        self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])
        for pid in profile_ids:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": S(erased_pk(pid)),
                    "sk": S(ERASED_SK),
                    "kind": S("erased"),
                    "profile_id": S(pid),
                    "survivor_id": S(profile.profile_id),
                    "requested_by": S(requested_by),
                    "erased_at": S(at),
                },
            )
        identifiers = sum(len(values) for values in profile.identifiers.values())
        return ErasureResult(profile.profile_id, profile_ids, identifiers, len(keys), events_named=named)

    def scrub_records_of(self, other_ids: Iterable[str], erased_ids: set[str]) -> int:
        """Other profiles' merge and unmerge records of an erased profile keep their ids and times but none of its
        identifiers or traits; their suggested matches with it go. Returns the items changed."""
        changed = 0
        for other in sorted(set(other_ids) - erased_ids):
            for item in list(self._query_partition(profile_pk(other))):
                sk = item["sk"]["S"]
                if sk.startswith("MERGE#") and item["merged_id"]["S"] in erased_ids:
                    redacted = Profile(profile_id=item["merged_id"]["S"], version=0, created_at="")
                    self._client.update_item(
                        TableName=self._table,
                        Key={"pk": item["pk"], "sk": item["sk"]},
                        UpdateExpression="SET moved_identifiers = :none, merged_profile = :gone",
                        ExpressionAttributeValues={":none": S("{}"), ":gone": S(profile_to_json(redacted))},
                    )
                    changed += 1
                elif sk.startswith("UNMERGE#") and item["restored_id"]["S"] in erased_ids:
                    self._client.update_item(
                        TableName=self._table,
                        Key={"pk": item["pk"], "sk": item["sk"]},
                        UpdateExpression="SET restored_identifiers = :none",
                        ExpressionAttributeValues={":none": S("{}")},
                    )
                    changed += 1
                elif sk.startswith("SUGGEST#") and sk.removeprefix("SUGGEST#") in erased_ids:
                    self._client.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
                    changed += 1
        return changed

    def suppress(self, digests: Iterable[str], *, now: datetime) -> int:
        """Erased identifiers, as one-way digests: never linked again (until an admin lifts one)."""
        unique = sorted(set(digests))
        self._batch_write(
            [
                {
                    "PutRequest": {
                        "Item": {
                            "pk": S(suppressed_pk(digest)),
                            "sk": S(SUPPRESSED_SK),
                            "kind": S("suppressed"),
                            "suppressed_at": S(_at(now)),
                        }
                    }
                }
                for digest in unique
            ]
        )
        return len(unique)

    def lift_suppression(self, digest: str) -> bool:
        old = self._client.delete_item(
            TableName=self._table,
            Key={"pk": S(suppressed_pk(digest)), "sk": S(SUPPRESSED_SK)},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        return bool(old)

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(requests), _BATCH_WRITE):
            pending: dict[str, Any] = {self._table: list(requests[start : start + _BATCH_WRITE])}
            while pending:
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}


def _merge_record(item: dict[str, Any]) -> MergeRecord:
    return MergeRecord(
        merge_id=item["merge_id"]["S"],
        survivor_id=item["survivor_id"]["S"],
        merged_id=item["merged_id"]["S"],
        rule=item["rule"]["S"],
        cause_event_id=item["cause_event_id"]["S"],
        merged_at=item["merged_at"]["S"],
        moved_identifiers=json.loads(item["moved_identifiers"]["S"]),
        undone_at=item.get("undone_at", {}).get("S"),
        merged_profile=profile_from_json(item["merged_profile"]["S"]) if "merged_profile" in item else None,
        survivor_before=profile_from_json(item["survivor_before"]["S"]) if "survivor_before" in item else None,
    )
