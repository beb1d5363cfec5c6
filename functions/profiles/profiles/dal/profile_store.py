"""All reads and writes of the profiles table (nothing above this module touches boto3).

A resolution reads with two BatchGetItem calls (the event's identifier items and its idempotency item; then the
profiles they name, following merge pointers) and writes one TransactWriteItems conditioned on every version it
read, so two resolvers working on the same profiles cannot both win: the loser's transaction is cancelled and it
reads again. Re-pointing a merged profile's identifier items to the survivor happens after the commit and is
only an optimisation: lookups follow ``merged_into`` pointers until then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from omnichannel.dynamodb import cancellation_codes, condition_failed, error_code, ttl_after
from omnichannel.identifiers import IdentifierType
from omnichannel.profile_events import profile_event_id
from profiles.dal.items import (
    ERASED_SK,
    ID_SK,
    PROFILE_SK,
    RESOLVED_SK,
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
)
from profiles.logic.identity_rules import Identifier
from profiles.logic.resolution import Plan
from profiles.models.profile import Profile

RESOLVED_RETENTION = timedelta(days=8)  # longer than any redelivery (EventBridge retries for at most a day)
MAX_POINTER_HOPS = 16
_BATCH_GET = 100
_BATCH_WRITE = 25
_TRANSACTION = 100


class ConcurrentChange(Exception):
    """Someone changed the profiles this decision was based on; read again and decide again."""


class AlreadyResolved(Exception):
    """This event was resolved before (a redelivery)."""


class NotFound(Exception):
    pass


class Conflict(Exception):
    """The request contradicts the current state (e.g. undoing a merge twice)."""


@dataclass
class GraphView:
    """What a resolution needs to know: the (root) owner of each identifier, those profiles, and whether the
    event was resolved already. ``stale`` lists identifier items that point to a merged profile."""

    already_resolved: bool
    owners: dict[Identifier, str] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    stale: dict[Identifier, str] = field(default_factory=dict)
    orphans: dict[Identifier, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MergeRecord:
    merge_id: str
    survivor_id: str
    merged_id: str
    rule: str
    cause_event_id: str
    merged_at: str
    moved_identifiers: dict[str, list[str]]
    undone_at: str | None


@dataclass
class ErasureResult:
    profile_id: str
    profile_ids: list[str]
    identifiers: int
    items_deleted: int


def merge_id_for(survivor_id: str, merged_id: str, event_id: str) -> str:
    return profile_event_id("merge", survivor_id, merged_id, event_id)


class DynamoDBProfileStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ------------------------------------------------------------------ reads
    def _batch_get(self, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {"Keys": list(keys[start : start + _BATCH_GET]), "ConsistentRead": True}
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

    def read_graph(self, identifiers: Sequence[Identifier], event_id: str) -> GraphView:
        keys = [{"pk": S(event_pk(event_id)), "sk": S(RESOLVED_SK)}]
        keys += [{"pk": S(identifier_pk(kind, value)), "sk": S(ID_SK)} for kind, value in identifiers]
        direct: dict[Identifier, str] = {}
        already = False
        for item in self._batch_get(keys):
            if item["sk"]["S"] == RESOLVED_SK:
                already = True
                continue
            _, kind, value = item["pk"]["S"].split("#", 2)
            direct[(IdentifierType(kind), value)] = item["profile_id"]["S"]
        view = GraphView(already_resolved=already)
        if already or not direct:
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

    def is_erased(self, profile_id: str) -> bool:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": S(erased_pk(profile_id)), "sk": S(ERASED_SK)}
        ).get("Item")
        return item is not None

    # ------------------------------------------------------------------ the resolution write
    def commit(self, plan: Plan, *, now: datetime) -> None:
        """Write ``plan`` atomically; :class:`ConcurrentChange` if any profile moved since it was read,
        :class:`AlreadyResolved` if the event was resolved meanwhile."""
        at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        survivor = plan.survivor
        survivor.version = (plan.base_version or 0) + 1
        change = {
            "event_id": plan.event_id,
            "added": identifiers_to_json(_as_sets(plan.new_identifiers)),
            "traits": plan.changed_traits,
            "created": plan.created,
        }
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": S(event_pk(plan.event_id)),
                        "sk": S(RESOLVED_SK),
                        "kind": S("resolved"),
                        "profile_id": S(survivor.profile_id),
                        "expires_at": N(ttl_after(now, RESOLVED_RETENTION)),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        survivor_put: dict[str, Any] = {"TableName": self._table, "Item": profile_to_item(survivor, change=change)}
        if plan.created:
            survivor_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            survivor_put["ConditionExpression"] = "version = :v AND attribute_not_exists(merged_into)"
            survivor_put["ExpressionAttributeValues"] = {":v": N(plan.base_version or 0)}
        items.append({"Put": survivor_put})
        for loser in plan.merged:
            pointer = Profile(
                profile_id=loser.profile_id,
                version=loser.version + 1,
                created_at=loser.created_at,
                merged_into=survivor.profile_id,
            )
            pointer_item = profile_to_item(pointer)
            pointer_item["merged_at"] = S(at)
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": pointer_item,
                        "ConditionExpression": "version = :v AND attribute_not_exists(merged_into)",
                        "ExpressionAttributeValues": {":v": N(loser.version)},
                    }
                }
            )
            merge_id = merge_id_for(survivor.profile_id, loser.profile_id, plan.event_id)
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
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
                        },
                    }
                }
            )
        for kind, value in plan.new_identifiers:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": S(identifier_pk(kind, value)),
                            "sk": S(ID_SK),
                            "kind": S("id"),
                            "profile_id": S(survivor.profile_id),
                            "linked_at": S(at),
                            "event_id": S(plan.event_id),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for number, conflict in enumerate(plan.conflicts):
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": S(profile_pk(survivor.profile_id)),
                            "sk": S(f"CONFLICT#{plan.event_id}#{number}"),
                            "kind": S("conflict"),
                            "event_id": S(plan.event_id),
                            "identifier_type": S(conflict.identifier[0].value),
                            "reason": S(conflict.reason),
                            "at": S(at),
                        },
                    }
                }
            )
        if len(items) > _TRANSACTION:
            raise ValueError(f"a resolution touching {len(items)} items does not fit one transaction")
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise AlreadyResolved(plan.event_id) from exc
            if codes or error_code(exc) in {"TransactionConflictException", "TransactionInProgressException"}:
                raise ConcurrentChange(plan.event_id) from exc
            raise

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

    def adopt_orphans(self, orphans: dict[Identifier, str]) -> None:
        """Identifier items whose profile was erased meanwhile: delete them, so the identifier is new again."""
        for identifier, gone in orphans.items():
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": S(identifier_pk(*identifier)), "sk": S(ID_SK)},
                    ConditionExpression="profile_id = :gone",
                    ExpressionAttributeValues={":gone": S(gone)},
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise

    def _conditional_update(self, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]) -> int:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if condition_failed(exc):
                return 0
            raise
        return 1

    # ------------------------------------------------------------------ unmerge
    def undo_merge(self, survivor_id: str, merge_id: str, *, now: datetime) -> tuple[Profile, Profile]:
        """Give the merged profile of ``merge_id`` back its identifiers and traits; the survivor keeps what came
        to it later. Both sides remember the split, so the same identifiers do not merge them again."""
        from profiles.logic.unmerge import split_profiles

        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": S(profile_pk(survivor_id)), "sk": S(f"MERGE#{merge_id}")},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            raise NotFound(f"merge {merge_id} of profile {survivor_id}")
        if "undone_at" in item:
            raise Conflict(f"merge {merge_id} was already undone")
        survivor = self.load_profiles([survivor_id]).get(survivor_id)
        if survivor is None:
            raise NotFound(f"profile {survivor_id}")
        if survivor.profile_id != survivor_id:
            raise Conflict(f"profile {survivor_id} was merged into {survivor.profile_id} since: undo that merge first")
        merged_as_was = profile_from_json(item["merged_profile"]["S"])
        survivor_before = profile_from_json(item["survivor_before"]["S"]) if "survivor_before" in item else None
        pointer = self._client.get_item(
            TableName=self._table,
            Key={"pk": S(profile_pk(merged_as_was.profile_id)), "sk": S(PROFILE_SK)},
            ConsistentRead=True,
        ).get("Item")
        if pointer is None:
            raise NotFound(f"profile {merged_as_was.profile_id}")
        pointer_version = int(pointer["version"]["N"])
        kept, restored = split_profiles(survivor, merged_as_was, survivor_before)
        at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        kept.version = survivor.version + 1
        restored.version = pointer_version + 1
        restored_json = identifiers_to_json(restored.identifiers)
        transaction: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": profile_to_item(
                        kept, change={"event_id": f"unmerge:{merge_id}", "added": {}, "traits": []}
                    ),
                    "ConditionExpression": "version = :v AND attribute_not_exists(merged_into)",
                    "ExpressionAttributeValues": {":v": N(survivor.version)},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": profile_to_item(restored),
                    "ConditionExpression": "version = :v AND merged_into = :s",
                    "ExpressionAttributeValues": {":v": N(pointer_version), ":s": S(survivor_id)},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": S(profile_pk(survivor_id)), "sk": S(f"MERGE#{merge_id}")},
                    "UpdateExpression": "SET undone_at = :at",
                    "ConditionExpression": "attribute_not_exists(undone_at)",
                    "ExpressionAttributeValues": {":at": S(at)},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": S(profile_pk(survivor_id)),
                        "sk": S(f"UNMERGE#{merge_id}"),
                        "kind": S("unmerge"),
                        "merge_id": S(merge_id),
                        "survivor_id": S(survivor_id),
                        "restored_id": S(restored.profile_id),
                        "restored_identifiers": S(json.dumps(restored_json)),
                        "at": S(at),
                    },
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=transaction)
        except ClientError as exc:
            if cancellation_codes(exc):
                raise ConcurrentChange(merge_id) from exc
            raise
        # The identifiers go back to the restored profile; then the pointers of profiles merged into it before.
        for kind, values in restored.identifiers.items():
            for value in values:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "pk": S(identifier_pk(kind, value)),
                        "sk": S(ID_SK),
                        "kind": S("id"),
                        "profile_id": S(restored.profile_id),
                        "linked_at": S(at),
                        "event_id": S(f"unmerge:{merge_id}"),
                    },
                )
        for older in restored.merged_ids:
            self._conditional_update(
                {"pk": S(profile_pk(older)), "sk": S(PROFILE_SK)},
                "SET merged_into = :new",
                "attribute_exists(merged_into)",
                {":new": S(restored.profile_id)},
            )
        return kept, restored

    # ------------------------------------------------------------------ erasure
    def erase(self, profile: Profile, *, requested_by: str, now: datetime) -> ErasureResult:
        """Delete the profile, every profile merged into it, their identifier items, merge log and conflicts.

        What stays is a marker ``ERASED#<id>`` per erased profile id, without any personal data: who asked and
        when (the controller's record of the request), so the API can answer 410 Gone. Repeatable.
        """
        profile_ids = sorted({profile.profile_id} | profile.merged_ids)
        at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        keys = [
            {"pk": S(identifier_pk(kind, value)), "sk": S(ID_SK)}
            for kind, values in profile.identifiers.items()
            for value in values
        ]
        for pid in profile_ids:
            keys += [{"pk": item["pk"], "sk": item["sk"]} for item in self._query_partition(profile_pk(pid))]
        self._batch_delete(keys)
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
        return ErasureResult(profile.profile_id, profile_ids, identifiers, len(keys))

    def _batch_delete(self, keys: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(keys), _BATCH_WRITE):
            requests: list[dict[str, Any]] = [
                {"DeleteRequest": {"Key": key}} for key in keys[start : start + _BATCH_WRITE]
            ]
            pending: dict[str, Any] = {self._table: requests}
            while pending:
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}


def _as_sets(identifiers: Iterable[Identifier]) -> dict[IdentifierType, set[str]]:
    grouped: dict[IdentifierType, set[str]] = {}
    for kind, value in identifiers:
        grouped.setdefault(kind, set()).add(value)
    return grouped


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
    )
