"""The KPI store on DynamoDB (low-level client; boto3's TypeSerializer keeps numbers as ``Decimal``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from kpis.dal.store import (
    CLOSED,
    CONDITION_FAILED,
    CONFLICT,
    Add,
    AddMembers,
    CloseSet,
    Counters,
    Delete,
    Item,
    Key,
    Operation,
    Put,
    TransactionCancelled,
)
from omnichannel.dynamodb import cancellation_codes, condition_failed

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
REVIEW_INDEX = "by_review"


def _av(value: Any) -> Any:
    return _serializer.serialize(value)


def _plain(item: dict[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _key(key: Key) -> dict[str, Any]:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}


class DynamoDBKpiStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self.counters = Counters()

    # ------------------------------------------------------------------ requests
    def _put(self, operation: Put) -> dict[str, Any]:
        item = {name: _av(value) for name, value in operation.item.items()}
        request: dict[str, Any] = {"TableName": self._table, "Item": {**item, **_key(operation.key)}}
        if operation.must_not_exist:
            request["ConditionExpression"] = "attribute_not_exists(pk)"
        elif operation.version is not None:
            request["ConditionExpression"] = (
                "attribute_not_exists(version)" if operation.version == 0 else "version = :expected_version"
            )
            if operation.version:
                request["ExpressionAttributeValues"] = {":expected_version": {"N": str(operation.version)}}
        return request

    def _update(self, operation: Add) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        adds, sets = [], []
        for index, (name, value) in enumerate(operation.numbers.items()):
            names[f"#n{index}"] = name
            values[f":n{index}"] = {"N": str(Decimal(value))}
            adds.append(f"#n{index} :n{index}")
        for index, (name, value) in enumerate(operation.set_once.items()):
            names[f"#s{index}"] = name
            values[f":s{index}"] = _av(value)
            sets.append(f"#s{index} = if_not_exists(#s{index}, :s{index})")
        expression = " ".join(
            part
            for part in ("ADD " + ", ".join(adds) if adds else "", "SET " + ", ".join(sets) if sets else "")
            if part
        )
        request: dict[str, Any] = {"TableName": self._table, "Key": _key(operation.key), "UpdateExpression": expression}
        if names:
            request["ExpressionAttributeNames"] = names
            request["ExpressionAttributeValues"] = values
        return request

    def _add_members(self, operation: AddMembers | CloseSet) -> dict[str, Any]:
        names = {"#set": operation.attribute, "#closed": CLOSED}
        condition = "attribute_exists(#set) AND attribute_not_exists(#closed)"
        if isinstance(operation, CloseSet):
            values: dict[str, Any] = {":closed": {"BOOL": True}, ":size": {"N": str(operation.size)}}
            condition += " AND size(#set) = :size"
            expression = "SET #closed = :closed"
        else:
            values = {f":m{index}": {"S": member} for index, member in enumerate(operation.members)}
            condition += "".join(f" AND NOT contains(#set, :m{index})" for index in range(len(operation.members)))
            values[":members"] = {"SS": sorted(set(operation.members))}
            values[":max"] = {"N": str(operation.max_size)}
            condition += " AND size(#set) <= :max"
            expression = "ADD #set :members"
        return {
            "TableName": self._table,
            "Key": _key(operation.key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _delete(self, operation: Delete) -> dict[str, Any]:
        return {"TableName": self._table, "Key": _key(operation.key)}

    # ------------------------------------------------------------------ the protocol
    def get(self, key: Key) -> Item | None:
        self.counters.calls += 1
        item = self._client.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item")
        if item is None:
            return None
        self.counters.items_read += 1
        return _plain(item)

    def get_many(self, keys: Sequence[Key]) -> dict[Key, Item]:
        found: dict[Key, Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            pending: dict[str, Any] = {
                self._table: {"Keys": [_key(key) for key in unique[start : start + 100]], "ConsistentRead": True}
            }
            while pending:
                self.counters.calls += 1
                answer = self._client.batch_get_item(RequestItems=pending)
                for raw in answer.get("Responses", {}).get(self._table, []):
                    item = _plain(raw)
                    found[(item["pk"], item["sk"])] = item
                    self.counters.items_read += 1
                pending = answer.get("UnprocessedKeys") or {}
        return found

    def transact(self, operations: Sequence[Operation]) -> None:
        entries: list[dict[str, Any]] = []
        for operation in operations:
            if isinstance(operation, Put):
                entries.append({"Put": self._put(operation)})
            elif isinstance(operation, Add):
                entries.append({"Update": self._update(operation)})
            elif isinstance(operation, AddMembers | CloseSet):
                entries.append({"Update": self._add_members(operation)})
            else:
                entries.append({"Delete": self._delete(operation)})
        self.counters.calls += 1
        self.counters.transactions += 1
        try:
            self._client.transact_write_items(TransactItems=entries)
        except ClientError as error:
            codes = cancellation_codes(error)
            if codes and any(code in (CONDITION_FAILED, CONFLICT) for code in codes):
                raise TransactionCancelled(codes) from error
            raise
        self.counters.items_written += len(entries)

    def write(self, operation: Operation) -> bool:
        self.counters.calls += 1
        try:
            if isinstance(operation, Put):
                self._client.put_item(**self._put(operation))
            elif isinstance(operation, Add):
                self._client.update_item(**self._update(operation))
            elif isinstance(operation, AddMembers | CloseSet):
                self._client.update_item(**self._add_members(operation))
            else:
                self._client.delete_item(**self._delete(operation))
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        self.counters.items_written += 1
        return True

    def add_to_capped_set(self, key: Key, attribute: str, member: str, cap: int) -> bool:
        self.counters.calls += 1
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(key),
                UpdateExpression="ADD #set :member",
                ConditionExpression="attribute_not_exists(#set) OR size(#set) < :cap OR contains(#set, :one)",
                ExpressionAttributeNames={"#set": attribute},
                ExpressionAttributeValues={":member": {"SS": [member]}, ":cap": {"N": str(cap)}, ":one": {"S": member}},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        self.counters.items_written += 1
        return True

    def add_members(self, key: Key, attribute: str, members: Sequence[str], cap: int) -> bool:
        self.counters.calls += 1
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(key),
                UpdateExpression="ADD #set :members",
                ConditionExpression="attribute_not_exists(#set) OR size(#set) <= :room",
                ExpressionAttributeNames={"#set": attribute},
                ExpressionAttributeValues={
                    ":members": {"SS": sorted(set(members))},
                    ":room": {"N": str(cap - len(set(members)))},
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        self.counters.items_written += 1
        return True

    def remove_members(self, key: Key, attribute: str, members: Sequence[str]) -> None:
        self.counters.calls += 1
        self._client.update_item(
            TableName=self._table,
            Key=_key(key),
            UpdateExpression="DELETE #set :members",
            ExpressionAttributeNames={"#set": attribute},
            ExpressionAttributeValues={":members": {"SS": sorted(set(members))}},
        )
        self.counters.items_written += 1

    def raise_registers(self, key: Key, registers: Mapping[str, int]) -> None:
        """Read the sketch, write the registers that grow, on the condition that nobody wrote it meanwhile."""
        for _ in range(20):
            current = self.get(key) or {}
            higher = {name: value for name, value in registers.items() if int(current.get(name, 0)) < value}
            if not higher:
                return
            names = {f"#r{i}": name for i, name in enumerate(higher)}
            values: dict[str, Any] = {f":r{i}": {"N": str(value)} for i, value in enumerate(higher.values())}
            values[":one"] = {"N": "1"}
            version = current.get("sketch_version")
            condition = "attribute_not_exists(sketch_version)"
            if version is not None:
                condition = "sketch_version = :seen"
                values[":seen"] = {"N": str(version)}
            sets = ", ".join(f"#r{i} = :r{i}" for i in range(len(higher)))
            self.counters.calls += 1
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(key),
                    UpdateExpression=f"SET {sets} ADD sketch_version :one",
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if condition_failed(error):
                    continue
                raise
            self.counters.items_written += 1
            return
        raise RuntimeError(f"the sketch {key} kept changing")

    def raise_register(self, key: Key, attribute: str, value: int) -> None:
        self.counters.calls += 1
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(key),
                UpdateExpression="SET #r = :v",
                ConditionExpression="attribute_not_exists(#r) OR #r < :v",
                ExpressionAttributeNames={"#r": attribute},
                ExpressionAttributeValues={":v": {"N": str(value)}},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            return
        self.counters.items_written += 1

    def _query_pages(self, request: dict[str, Any]) -> list[Item]:
        found: list[Item] = []
        while True:
            self.counters.calls += 1
            answer = self._client.query(**request)
            page = [_plain(item) for item in answer.get("Items", [])]
            self.counters.items_read += len(page)
            found.extend(page)
            if "LastEvaluatedKey" not in answer:
                return found
            request = {**request, "ExclusiveStartKey": answer["LastEvaluatedKey"]}

    def query(self, pk: str, sk_from: str, sk_to: str) -> list[Item]:
        return self._query_pages(
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
                "ExpressionAttributeValues": {":pk": {"S": pk}, ":from": {"S": sk_from}, ":to": {"S": sk_to}},
            }
        )

    def query_review(self, review_pk: str) -> list[Item]:
        return self._query_pages(
            {
                "TableName": self._table,
                "IndexName": REVIEW_INDEX,
                "KeyConditionExpression": "review_pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": review_pk}},
            }
        )

    def scan_customers(self) -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :sk AND begins_with(pk, :prefix) AND attribute_not_exists(merged_into)",
            "ExpressionAttributeValues": {":sk": {"S": "C"}, ":prefix": {"S": "C#"}},
        }
        while True:
            self.counters.calls += 1
            answer = self._client.scan(**request)
            for item in answer.get("Items", []):
                self.counters.items_read += 1
                yield _plain(item)
            if "LastEvaluatedKey" not in answer:
                return
            request = {**request, "ExclusiveStartKey": answer["LastEvaluatedKey"]}
