"""Eight changes to moto for a long-running local runtime, applied while a runtime runs and undone when it stops.

moto is written for short tests; the local runtime keeps one moto alive for hours and writes to it thousands of
times a minute. Two of moto's habits then cost gigabytes and minutes:

1. **Every model instance is kept forever.** moto's ``BaseModel.__new__`` appends each instance (every DynamoDB
   item ever written, every stream record, every SQS message) to its class's ``instances_tracked`` list, for the
   moto server's dashboard. Nothing is ever freed: after the demo the process held 1.5 million dead items.
   While a runtime runs, the lists of every model class except S3's (whose reset walks them) keep nothing.
2. **A transaction deep-copies every table it touches.** ``transact_write_items`` copies each table whole before
   writing, to restore it if one action fails: O(table size) per transaction, and every KPI event is one. Here
   the items the transaction touches are copied instead, and a failure puts those items back and drops the
   stream records the partial writes left, as restoring the whole tables did. Conditions, errors and
   ``CancellationReasons`` are moto's own (the loop below is moto 5.2's, only the backup differs).

3. **A rule target gets an event without ``account``, built through eight JSONPath parses.** moto shapes what a
   target receives with its input-transformer code even when the target has no ``InputTransformer``, with a
   default template that leaves ``account`` out, and compiles each JSONPath (a PLY parser) anew every time: with
   queues as rule targets, most of a busy run's time. A target without an ``InputTransformer`` now gets the
   event as EventBridge sends it (all nine fields), at once; one with a transformer (the bus archive's) still
   goes through moto, with each JSONPath compiled once. And a receive no longer reads the queue's every attribute
   (counting its messages) once per message it hands out, only its retention period: O(n) instead of O(n²); a
   message's visibility is checked against the clock directly (moto converts through ``datetime`` each time, for
   every message of the queue, on every send and receive).

4. **Firehose writes its S3 objects its own way.** moto ignores ``CompressionFormat`` and adds ``YYYY/MM/DD/HH/``
   after any prefix. An S3 destination now gets what AWS writes: the prefix with its ``!{timestamp:...}``
   expressions filled in (and no extra folders when it has one), GZIP-compressed when the stream says so.

5. **Every DynamoDB attribute value is serialized member by member.** moto's response serializer walks the ten
   members of the ``AttributeValue`` shape for every attribute of every item it answers (``Query``,
   ``BatchGetItem``, ``GetItem``, a stream's ``GetRecords``), asking three alias providers each time: a third of a
   settling import's time. An ``AttributeValue`` that is a dict (all moto's DynamoDB responses hand over) is now
   written at once, the same JSON: strings as strings, blobs in base64, maps and lists recursively, an unknown or
   empty member left out. Anything else still goes through moto.

6. **Sending to a queue counts its messages; every request lists its handler's methods.** moto's ``send_message``
   builds all of a queue's attributes (counting its messages three times) to read ``ContentBasedDeduplication``,
   which only a FIFO queue has: O(n) per message, quadratic while an import's 100,000 events wait in the rule
   queues. A standard queue's send now skips that (the value it reads is absent either way); a FIFO queue's is
   moto's own. And the response class's method names (``inspect.getmembers``, every request) are listed once per
   class.

7. **Every Query sorts the whole table.** moto's ``Table.query`` reads ``all_items()``, which sorts every item of the
   table (comparing ``DynamoType``s, each comparison converting both values again), and only then keeps the
   partition asked for: a KPI table holding 300,000 items is sorted 26 times for one 200-day ``GET /kpis``. A
   query on the table's own key now starts from its partition (what DynamoDB reads), and ``all_items()`` (still
   used by index queries and scans) converts each key once for its sort: the same items in the same order.

8. **Deleting a message scans its queue twice.** moto's ``Queue.delete_message`` looks through every message of the
   queue for the receipt handle, then builds the queue's list anew: O(n) per delete, quadratic while a settling
   import's 10,000 events wait in each rule queue (a third of its time). The patched delete stops at the message
   (a consumer deletes what it received, from the front of the queue) and rebuilds the list only then; the same
   errors, and a second delete of the same handle is still accepted.

``bench/local_runtime_memory.py`` measures the first two: resident memory and time to fill the demo with and without.
"""

from __future__ import annotations

import copy
import functools
import gzip
import importlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonpath_ng.ext as jsonpath_ext
from moto.core import responses as moto_responses
from moto.core.model_instances import model_data
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table
from moto.events.utils import EventTemplateParser
from moto.firehose.models import FirehoseBackend
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

TRACKING_KEPT = frozenset({"s3"})  # moto's S3 reset walks its tracked keys and multipart uploads


class _KeepNothing(list[Any]):
    """An ``instances_tracked`` that forgets what is appended to it."""

    def append(self, _instance: Any) -> None:
        return None


def stop_tracking_instances() -> None:
    """Make every known moto model class forget its instances (call again after moto resets its model data)."""
    for service, models in model_data.items():
        if service in TRACKING_KEPT:
            continue
        for model in models.values():
            if not isinstance(getattr(model, "instances_tracked", None), _KeepNothing):
                model.instances_tracked = _KeepNothing()  # type: ignore[attr-defined]


@dataclass
class _Backup:
    """The items a transaction touches as they were before it, and each table's stream length then."""

    backend: DynamoDBBackend
    items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(default_factory=list)
    streams: dict[str, tuple[Table, StreamShard | None, int]] = field(default_factory=dict)

    def remember(self, table_name: str, key: dict[str, Any]) -> None:
        table = self.backend.get_table(table_name)
        if table_name not in self.streams:
            shard = table.stream_shard
            self.streams[table_name] = (table, shard, len(shard.items) if shard is not None else 0)
        hash_value, range_value = self.backend.get_keys_value(table, key)
        current = table.get_item(hash_value, range_value)
        # update_item changes the item in place: keep a copy, not the object
        self.items.append((table, hash_value, range_value, copy.deepcopy(current) if current else None))

    def restore(self) -> None:
        for table, hash_value, range_value, before in reversed(self.items):
            if range_value is not None:
                rows = table.items[hash_value]
                if before is None:
                    rows.pop(range_value, None)
                else:
                    rows[range_value] = before
                if not rows:
                    table.items.pop(hash_value, None)
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before  # type: ignore[assignment]
        for table, shard, length in self.streams.values():
            # A shard replaced or emptied meanwhile (moto's own Lambda mappings do that) is left as it is
            if shard is None or table.stream_shard is not shard or len(shard.items) < length:
                continue
            del shard.items[length:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2's ``transact_write_items`` with a backup of the touched items instead of whole tables."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    backup = _Backup(self)
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression, expression_attribute_names, expression_attribute_values
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                backup.remember(table_name, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            backup.restore()
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original_item))  # type: ignore[arg-type]
        except Exception as error:  # moto reports any other failure as the action's reason
            errors.append((type(error).__name__, str(error), original_item))  # type: ignore[arg-type]
    if any(code is not None for code, _, _ in errors):
        backup.restore()
        raise TransactionCanceledException(errors)


_moto_serialize_structure = BaseJSONSerializer._serialize_type_structure
_STRING_MEMBERS = frozenset({"S", "N"})
_STRING_SET_MEMBERS = frozenset({"SS", "NS"})
_PLAIN_MEMBERS = frozenset({"NULL", "BOOL"})


def _attribute_value(serializer: BaseJSONSerializer, value: dict[str, Any]) -> dict[str, Any]:
    """What moto's serializer makes of one ``AttributeValue`` dict, without walking the shape's members."""
    out: dict[str, Any] = {}
    for member, content in value.items():
        if content is None:
            continue
        if member in _STRING_MEMBERS:
            out[member] = str(content) if content not in ({}, []) else content
        elif member == "B":
            out[member] = serializer._base64(content)
        elif member in _STRING_SET_MEMBERS:
            out[member] = [str(item) for item in content]
        elif member == "BS":
            out[member] = [serializer._base64(item) for item in content]
        elif member == "M":
            out[member] = {name: _attribute_value(serializer, item) for name, item in content.items()}
        elif member == "L":
            out[member] = [_attribute_value(serializer, item) for item in content]
        elif member in _PLAIN_MEMBERS:
            out[member] = content
    return out


def _serialize_structure(
    self: BaseJSONSerializer, serialized: dict[str, Any], value: Any, shape: Any, key: str
) -> None:
    if key and shape.name == "AttributeValue" and isinstance(value, dict):
        self._default_serialize(serialized, _attribute_value(self, value), shape, key)
        return
    _moto_serialize_structure(self, serialized, value, shape, key)


_moto_send_message = SQSBackend.send_message
_moto_queue_attributes = Queue.attributes
_moto_method_names = moto_responses.method_names_from_class  # type: ignore[attr-defined]
_standard_send = threading.local()


def _send_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    if self.get_queue(queue_name).fifo_queue:
        return _moto_send_message(self, queue_name, *args, **kwargs)
    _standard_send.active = True
    try:
        return _moto_send_message(self, queue_name, *args, **kwargs)
    finally:
        _standard_send.active = False


def _queue_attributes(queue: Queue) -> dict[str, Any]:
    """A standard queue's attributes while a message is sent to it: only ``ContentBasedDeduplication`` is read
    then, and a standard queue has none."""
    if getattr(_standard_send, "active", False) and not queue.fifo_queue:
        return {}
    return _moto_queue_attributes.fget(queue)  # type: ignore[attr-defined,no-any-return]


_cached_method_names = functools.lru_cache(maxsize=None)(_moto_method_names)


_moto_all_items = Table.all_items
_moto_query = Table.query
_partition = threading.local()


def _sort_key(item: Item) -> Any:
    """moto's order of ``all_items()`` (it compares ``DynamoType``s, i.e. their ``cast_value``), each key cast once."""
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


def _all_items(self: Table) -> list[Item]:
    hint = getattr(_partition, "items", None)
    if hint is not None and hint[0] is self:
        return list(hint[1])
    items: list[Item] = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)  # type: ignore[arg-type]
    return sorted(items, key=_sort_key)


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """A query on the table's own key reads its partition only (an index query still goes through every item)."""
    index_name = kwargs.get("index_name") if len(args) < 7 else args[6]
    if index_name or hash_key is None or not self.range_key_attr:
        return _moto_query(self, hash_key, *args, **kwargs)
    rows = self.items.get(hash_key)
    _partition.items = (self, sorted(rows.values(), key=_sort_key) if rows else [])
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        _partition.items = None


# The services a template's functions call: their model classes exist (and can forget) before the first call.
SERVICE_MODELS = (
    "moto.dynamodb.models",
    "moto.dynamodbstreams.models",
    "moto.events.models",
    "moto.sqs.models",
    "moto.sns.models",
    "moto.ses.models",
    "moto.secretsmanager.models",
    "moto.cognitoidp.models",
    "moto.firehose.models",
    "moto.s3.models",
)


_moto_jsonpath = jsonpath_ext.parse  # type: ignore[attr-defined]
_cached_jsonpath = functools.lru_cache(maxsize=512)(_moto_jsonpath)

EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
_moto_template_parse = EventTemplateParser.parse


def _target_input(input_template: Any, input_paths_map: Any, event: Any) -> dict[str, Any]:
    """What a rule target receives: the whole event (without moto's ``ingestion-time``) unless it transforms it."""
    if input_template or input_paths_map:
        return _moto_template_parse(input_template, input_paths_map, event)
    return {name: copy.deepcopy(event[name]) for name in EVENT_FIELDS if name in event}


_TIMESTAMP_EXPRESSION = re.compile(r"!\{timestamp:([^}]+)\}")
_JAVA_DATE_TOKENS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
_moto_put_s3_records = FirehoseBackend.put_s3_records


def _firehose_prefix(prefix: str, now: datetime) -> str:
    """A Firehose S3 prefix with its ``!{timestamp:<java date format>}`` expressions evaluated at ``now``; a prefix
    without one gets Firehose's default ``YYYY/MM/DD/HH/`` folders."""
    if not _TIMESTAMP_EXPRESSION.search(prefix):
        return f"{prefix}{now:%Y/%m/%d/%H}/"

    def evaluate(match: re.Match[str]) -> str:
        pattern = match.group(1)
        for java, python in _JAVA_DATE_TOKENS:
            pattern = pattern.replace(java, python)
        return now.strftime(pattern)

    return _TIMESTAMP_EXPRESSION.sub(evaluate, prefix)


def _put_s3_records(
    self: FirehoseBackend,
    delivery_stream_name: str,
    version_id: str,
    s3_destination: dict[str, Any],
    records: list[dict[str, bytes]],
) -> list[dict[str, str]]:
    from moto.s3.models import s3_backends

    now = datetime.now(UTC)
    data = b"".join(record["Data"] for record in records)
    if s3_destination.get("CompressionFormat") == "GZIP":
        data = gzip.compress(data)
    key = (
        _firehose_prefix(s3_destination.get("Prefix", ""), now)
        + f"{delivery_stream_name}-{version_id}-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
        + (".gz" if s3_destination.get("CompressionFormat") == "GZIP" else "")
    )
    bucket = s3_destination["BucketARN"].split(":")[-1]
    s3_backends[self.account_id][self.partition].put_object(bucket, key, data)
    return [{"RecordId": str(uuid.uuid4())} for _ in records]


def _retention_ok(self: SQSBackend, queue_name: str, message: Any) -> bool:
    """moto's check, reading only the retention period (moto builds every attribute of the queue for it)."""
    retention: int = self.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
    return bool(retention + message.sent_timestamp / 1000 > time.time())


def _delete_message(self: Queue, receipt_handle: str) -> None:
    """moto's delete in one pass that stops at the message (see 8. above)."""
    if receipt_handle in self.deleted_messages:
        return  # deleted before: accepted again, as moto (and SQS) do
    messages = self._messages
    for index, message in enumerate(messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
            self._messages = messages[:index] + messages[index + 1 :]  # a new list, as moto's: readers keep theirs
            return
    raise ReceiptHandleIsInvalid()


_moto_delete_message = Queue.delete_message
_moto_retention_ok = SQSBackend.is_message_valid_based_on_retention_period
_moto_visible, _moto_delayed = Message.visible, Message.delayed
_fast_visible = property(lambda message: time.time() * 1000 > message.visible_at)
_fast_delayed = property(lambda message: time.time() * 1000 < message.delayed_until)


@contextmanager
def patched_moto() -> Iterator[None]:
    """The changes for the duration of the block (the runtime's life)."""
    for module in SERVICE_MODELS:
        importlib.import_module(module)
    original = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    EventTemplateParser.parse = staticmethod(_target_input)  # type: ignore[method-assign]
    FirehoseBackend.put_s3_records = _put_s3_records  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _retention_ok  # type: ignore[method-assign]
    jsonpath_ext.parse = _cached_jsonpath  # type: ignore[attr-defined]
    Message.visible, Message.delayed = _fast_visible, _fast_delayed  # type: ignore[method-assign,assignment]
    BaseJSONSerializer._serialize_type_structure = _serialize_structure  # type: ignore[method-assign,assignment]
    SQSBackend.send_message = _send_message  # type: ignore[method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    Queue.attributes = property(_queue_attributes)  # type: ignore[method-assign,assignment]
    moto_responses.method_names_from_class = _cached_method_names  # type: ignore[attr-defined]
    Table.all_items, Table.query = _all_items, _query  # type: ignore[method-assign]
    stop_tracking_instances()
    try:
        yield
    finally:
        EventTemplateParser.parse = staticmethod(_moto_template_parse)  # type: ignore[method-assign]
        FirehoseBackend.put_s3_records = _moto_put_s3_records  # type: ignore[method-assign]
        SQSBackend.is_message_valid_based_on_retention_period = _moto_retention_ok  # type: ignore[method-assign]
        jsonpath_ext.parse = _moto_jsonpath  # type: ignore[attr-defined]
        Message.visible, Message.delayed = _moto_visible, _moto_delayed  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure = _moto_serialize_structure  # type: ignore[method-assign]
        SQSBackend.send_message = _moto_send_message  # type: ignore[method-assign]
        Queue.delete_message = _moto_delete_message  # type: ignore[method-assign]
        Queue.attributes = _moto_queue_attributes  # type: ignore[method-assign]
        moto_responses.method_names_from_class = _moto_method_names  # type: ignore[attr-defined]
        Table.all_items, Table.query = _moto_all_items, _moto_query  # type: ignore[method-assign]
        for models in model_data.values():
            for model in models.values():
                if isinstance(getattr(model, "instances_tracked", None), _KeepNothing):
                    model.instances_tracked = []  # type: ignore[attr-defined]
