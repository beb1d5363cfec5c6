"""JourneysTable on DynamoDB (low-level client). Costs, per customer event that changes something: one Query (the
customer's runs and facts), one ``TransactWriteItems`` (event mark, runs, facts, effects, counters) and, per
effect announced, one ``UpdateItem`` (marked announced)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from journeys.dal import items as shapes
from journeys.logic.clock import iso
from journeys.logic.ports import Conflict, DueItem, StoredEffect
from journeys.models.state import Change, CustomerFacts, CustomerState, Delivery, Run
from omnichannel.dynamodb import cancellation_codes, condition_failed, error_code

MAX_TRANSACTION_ITEMS = 100
BATCH_WRITE_SIZE = 25


class DynamoDBJourneyStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # ------------------------------------------------------------------ reading a customer
    def _query(self, **arguments: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page: dict[str, Any] = {}
        while True:
            answer = self._client.query(TableName=self._table, **arguments, **page)
            found += answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return found
            page = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}

    def load(self, profile_id: str) -> CustomerState:
        found = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
            ExpressionAttributeValues={":pk": {"S": shapes.customer_pk(profile_id)}, ":a": {"S": "A#"}},
        )
        runs: dict[str, Run] = {}
        facts_item = None
        for item in found:
            if item["sk"]["S"] == shapes.FACTS_SK:
                facts_item = item
            elif item["sk"]["S"].startswith(shapes.RUN_PREFIX):
                run = shapes.run_from_item(item)
                runs[run.journey_id] = run
        return CustomerState(profile_id, shapes.facts_from_item(profile_id, facts_item), runs)

    # ------------------------------------------------------------------ writing a change
    @staticmethod
    def _guarded_put(item: dict[str, Any], revision: int) -> dict[str, Any]:
        if revision == 0:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {"ConditionExpression": "rev = :rev", "ExpressionAttributeValues": {":rev": {"N": str(revision)}}}

    def _put(self, item: dict[str, Any], revision: int | None) -> dict[str, Any]:
        guard = (
            self._guarded_put(item, revision)
            if revision is not None
            else {"ConditionExpression": "attribute_not_exists(pk)"}
        )
        return {"Put": {"TableName": self._table, "Item": item, **guard}}

    def _counters(self, journey_id: str, profile_id: str, counts: dict[str, int]) -> dict[str, Any]:
        names = {f"#c{index}": name for index, name in enumerate(sorted(counts))}
        values = {f":v{index}": {"N": str(counts[name])} for index, name in enumerate(sorted(counts))}
        return {
            "Update": {
                "TableName": self._table,
                "Key": shapes.key(shapes.stats_pk(journey_id), shapes.stats_sk(profile_id)),
                "UpdateExpression": "ADD " + ", ".join(f"#c{index} :v{index}" for index in range(len(counts))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def commit(
        self,
        state: CustomerState,
        change: Change,
        *,
        event_id: str | None,
        now: datetime,
        retire: CustomerState | None = None,
    ) -> bool:
        profile_id = state.profile_id
        transaction: list[dict[str, Any]] = []
        if event_id is not None:
            transaction.append(self._put(shapes.seen_item(profile_id, event_id, now), None))
        for run in change.runs.values():
            transaction.append(self._put(shapes.run_item(run), run.revision))
        if change.facts is not None:
            transaction.append(self._put(shapes.facts_item(change.facts), change.facts.revision))
        for effect in change.effects:
            transaction.append(self._put(shapes.effect_item(profile_id, effect, now), None))
        for journey_id, counts in change.counters.items():
            if counts:
                transaction.append(self._counters(journey_id, profile_id, counts))
        if retire is not None:
            transaction += self._retirement(retire)
        if len(transaction) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{profile_id}: {len(transaction)} writes do not fit one transaction")
        try:
            self._client.transact_write_items(TransactItems=transaction)
        except ClientError as error:
            codes = cancellation_codes(error)
            if event_id is not None and codes and codes[0] == "ConditionalCheckFailed":
                return False
            if codes or error_code(error) in ("TransactionConflictException", "ConditionalCheckFailedException"):
                raise Conflict(profile_id) from error
            raise
        return True

    def _retirement(self, retired: CustomerState) -> list[dict[str, Any]]:
        """Deletes of a merged customer's runs and facts, each conditional on the revision read."""
        deletes = []
        pk = shapes.customer_pk(retired.profile_id)
        keys = [(shapes.RUN_PREFIX + run.journey_id, run.revision) for run in retired.runs.values()]
        if retired.facts.revision:
            keys.append((shapes.FACTS_SK, retired.facts.revision))
        for sk, revision in keys:
            deletes.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": shapes.key(pk, sk),
                        "ConditionExpression": "rev = :rev",
                        "ExpressionAttributeValues": {":rev": {"N": str(revision)}},
                    }
                }
            )
        return deletes

    def restore(
        self,
        survivor: CustomerState,
        restored: CustomerState,
        *,
        runs: Sequence[Run],
        keep: Mapping[str, Run],
        effects: Sequence[StoredEffect],
        facts: CustomerFacts | None,
        event_id: str,
        now: datetime,
    ) -> bool:
        survivor_pk = shapes.customer_pk(survivor.profile_id)
        transaction: list[dict[str, Any]] = [
            self._put(shapes.seen_item(restored.profile_id, event_id, now), None),
            *self._retirement(
                CustomerState(survivor.profile_id, CustomerFacts(survivor.profile_id), {r.journey_id: r for r in runs})
            ),
        ]
        transaction += [self._put(shapes.run_item(run), 0) for run in keep.values()]
        if facts is not None:
            transaction.append(self._put(shapes.facts_item(facts), 0))
        for effect in effects:
            key = shapes.key(survivor_pk, shapes.EFFECT_PREFIX + effect.event_id)
            transaction.append(
                {"Delete": {"TableName": self._table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}}
            )
            transaction.append(self._put(shapes.stored_effect_item(restored.profile_id, effect, now), None))
        if len(transaction) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{restored.profile_id}: {len(transaction)} writes do not fit one transaction")
        try:
            self._client.transact_write_items(TransactItems=transaction)
        except ClientError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if codes or error_code(error) in ("TransactionConflictException", "ConditionalCheckFailedException"):
                raise Conflict(restored.profile_id) from error
            raise
        return True

    def mark_published(self, profile_id: str, event_ids: Sequence[str], now: datetime) -> None:
        for event_id in event_ids:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=shapes.key(shapes.customer_pk(profile_id), shapes.EFFECT_PREFIX + event_id),
                    UpdateExpression="SET published_at = :at REMOVE due_pk, due_sk",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":at": {"S": iso(now)}},
                )
            except ClientError as error:
                if not condition_failed(error):  # erased meanwhile: nothing to mark
                    raise

    def record_delivery(self, profile_id: str, effect: StoredEffect, delivery: Delivery, counter: str) -> bool:
        """One ``TransactWriteItems``: the end on the effect (only if it exists and has none; an effect not marked
        announced yet is, since outbound heard it: it leaves the due index) and the journey's counter."""
        values = shapes.delivery_values(delivery)
        names = {f"#d{index}": name for index, name in enumerate(values)}
        assignments = ", ".join(f"#d{index} = :d{index}" for index in range(len(values)))
        update = {
            "Update": {
                "TableName": self._table,
                "Key": shapes.key(shapes.customer_pk(profile_id), shapes.EFFECT_PREFIX + effect.event_id),
                "UpdateExpression": f"SET {assignments}, published_at = if_not_exists(published_at, :at) "
                "REMOVE due_pk, due_sk",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(delivery)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {
                    **{f":d{index}": value for index, value in enumerate(values.values())},
                    ":at": {"S": delivery.at},
                },
            }
        }
        try:
            self._client.transact_write_items(
                TransactItems=[update, self._counters(effect.journey_id, profile_id, {counter: 1})]
            )
        except ClientError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    # ------------------------------------------------------------------ the sweep
    def due(self, now: datetime, limit: int) -> list[DueItem]:
        upper = iso(now) + "#\uffff"
        per_shard: list[list[tuple[str, DueItem]]] = []
        for shard in range(shapes.DUE_SHARDS):
            found: list[tuple[str, DueItem]] = []
            page: dict[str, Any] = {}
            while len(found) < limit:
                answer = self._client.query(
                    TableName=self._table,
                    IndexName="by_due",
                    KeyConditionExpression="due_pk = :p AND due_sk <= :u",
                    ExpressionAttributeValues={":p": {"S": f"DUE#{shard}"}, ":u": {"S": upper}},
                    Limit=limit - len(found),
                    **page,
                )
                for item in answer.get("Items", []):
                    sk = item["sk"]["S"]
                    profile_id = shapes.profile_of_pk(item["pk"]["S"])
                    if sk.startswith(shapes.RUN_PREFIX):
                        entry = DueItem("run", profile_id, sk.removeprefix(shapes.RUN_PREFIX))
                    else:
                        entry = DueItem("effect", profile_id, sk.removeprefix(shapes.EFFECT_PREFIX))
                    found.append((item["due_sk"]["S"], entry))
                if "LastEvaluatedKey" not in answer:
                    break
                page = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}
            per_shard.append(found)
        return [entry for _, entry in heapq.merge(*per_shard, key=lambda pair: pair[0])][:limit]

    def effect(self, profile_id: str, event_id: str) -> StoredEffect | None:
        item = self._client.get_item(
            TableName=self._table, Key=shapes.key(shapes.customer_pk(profile_id), shapes.EFFECT_PREFIX + event_id)
        ).get("Item")
        return shapes.effect_from_item(item) if item else None

    def effects(self, profile_id: str) -> list[StoredEffect]:
        found = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :z)",
            ExpressionAttributeValues={":pk": {"S": shapes.customer_pk(profile_id)}, ":z": {"S": shapes.EFFECT_PREFIX}},
        )
        return sorted((shapes.effect_from_item(item) for item in found), key=lambda effect: effect.created_at)

    # ------------------------------------------------------------------ erasure, figures
    def erase(self, profile_ids: Sequence[str]) -> int:
        removed = 0
        for profile_id in profile_ids:
            keys = self._query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": shapes.customer_pk(profile_id)}},
                ProjectionExpression="pk, sk",
            )
            for start in range(0, len(keys), BATCH_WRITE_SIZE):
                requests = [{"DeleteRequest": {"Key": item}} for item in keys[start : start + BATCH_WRITE_SIZE]]
                self._batch_write(requests)
            removed += len(keys)
        return removed

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending = {self._table: requests}
        for _ in range(8):
            answer = self._client.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
        raise RuntimeError("BatchWriteItem kept items unprocessed")

    def counters(self, journey_id: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": shapes.stats_pk(journey_id)}}
        ):
            for name, value in item.items():
                if "N" in value:
                    totals[name] = totals.get(name, 0) + int(value["N"])
        return totals
