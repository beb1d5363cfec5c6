"""``Type: DynamoDB`` event sources: a table's stream read from moto and handed to the function in batches, the
way Lambda's event source mapping does.

- Records leave the stream in order; ``FilterCriteria`` drops the ones no pattern matches (moto's matcher).
- A batch that raises is retried as a whole, blocking the stream, until ``MaximumRetryAttempts`` (default -1:
  until the records expire, i.e. forever locally); then the ``DestinationConfig.OnFailure`` SQS queue gets
  Lambda's invocation record and the batch is skipped.
- With ``ReportBatchItemFailures`` the stream checkpoints before the lowest reported sequence number and
  retries from there.
- Not emulated: ``BisectBatchOnFunctionError`` (batches are retried whole), ``ParallelizationFactor``,
  batching windows, tumbling windows, ``MaximumRecordAgeInSeconds``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from local_runtime.deliveries import Delivery, record_filter
from local_runtime.functions import HandlerError
from local_runtime.resources import StackContext

log = logging.getLogger("local_runtime")

ClientFactory = Callable[[str], Any]
Invoke = Callable[[str, Any], Any]
MAX_BACKOFF_SECONDS = 30.0


class StreamSource:
    """The event source mapping of one function event on one DynamoDB stream."""

    kind = "DynamoDB"

    def __init__(
        self,
        clients: ClientFactory,
        context: StackContext,
        function_id: str,
        event_name: str,
        props: Mapping[str, Any],
        function_arn: str,
    ) -> None:
        self.function = function_id
        self.event = event_name
        self.stream_arn = str(props["Stream"])
        self.batch_size = int(props.get("BatchSize", 100))
        self.max_retries = int(props.get("MaximumRetryAttempts", -1))
        self.report_batch_failures = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
        self.enabled = props.get("Enabled", True) not in (False, "false")
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        self.on_failure_arn = str(on_failure) if on_failure else None
        self._keep = record_filter(props.get("FilterCriteria"))
        self._clients = clients
        self._context = context
        self._function_arn = function_arn
        self._pending: list[dict[str, Any]] = []
        self._attempt = 0
        self._retry_at = 0.0
        # Positions, not long-lived shard iterators: moto undoes a cancelled TransactWriteItems by restoring a deep
        # copy of its tables, which leaves iterators pointing at a stream shard nobody writes to any more.
        streams = clients("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self._positions: dict[str, str | None] = {shard["ShardId"]: None for shard in shards}
        if str(props.get("StartingPosition", "LATEST")) != "TRIM_HORIZON":
            while self._read(self.batch_size):  # LATEST: skip what the stream already holds
                pass

    @property
    def trigger(self) -> str:
        return f"{self.function}.{self.event}"

    def poll(self, invoke: Invoke, *, respect_backoff: bool = False) -> tuple[int, list[Delivery]]:
        """Read and deliver one batch (or retry the pending one). Returns (records handled, deliveries)."""
        if not self.enabled:
            return 0, []
        if not self._pending:
            fetched = self._fetch()
            kept = [record for record in fetched if self._keep(record)]
            if not kept:
                return len(fetched), []
            self._pending, self._attempt = kept, 0
        elif respect_backoff and time.monotonic() < self._retry_at:
            return 0, []
        return len(self._pending), [self._deliver(invoke)]

    def _fetch(self) -> list[dict[str, Any]]:
        return [self._lambda_record(record) for record in self._read(self.batch_size)]

    def _read(self, limit: int) -> list[dict[str, Any]]:
        """The next records of the first shard that has any, moving its position past them."""
        streams = self._clients("dynamodbstreams")
        for shard_id, position in self._positions.items():
            where = {"ShardIteratorType": "TRIM_HORIZON"}
            if position is not None:
                where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
            iterator = streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, **where)["ShardIterator"]
            records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator, Limit=limit).get("Records", [])
            if records:
                self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                return records
        return []

    def _lambda_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = _jsonable(dict(record))
        converted.update(
            eventVersion="1.1",
            eventSource="aws:dynamodb",
            awsRegion=self._context.region,
            eventSourceARN=self.stream_arn,
        )
        return converted

    def _deliver(self, invoke: Invoke) -> Delivery:
        batch = self._pending[: self.batch_size]
        event = {"Records": batch}
        self._attempt += 1
        error: str | None = None
        failed_from: int | None
        try:
            answer = invoke(self.function, event)
        except HandlerError as exc:
            failed_from, error = 0, f"{type(exc.error).__name__}: {exc.error}"
            log.error(
                "✗ %s failed on a batch of %d (attempt %d):\n%s", self.trigger, len(batch), self._attempt, exc.traceback
            )
        else:
            failed_from = _first_failure(answer, batch) if self.report_batch_failures else None
        if failed_from is None:
            self._pending = self._pending[len(batch) :]
            log.info(
                "→ %s delivered a batch of %d stream records",
                self.trigger,
                len(batch),
                extra={"activity": self.trigger},
            )
            return Delivery(self.function, self.trigger, self.kind, event, self._attempt, "delivered")
        # Checkpoint before the first failure: what came before it is done.
        self._pending = self._pending[failed_from:]
        failed = batch[failed_from:]
        outcome = "partial" if error is None else "retrying"
        if 0 <= self.max_retries < self._attempt:
            outcome = "dropped"
            if self.on_failure_arn:
                self._send_on_failure(failed, error)
                outcome = "dead-lettered"
            log.error(
                "✗ %s gave up on %d stream records after %d attempts (%s)",
                self.trigger,
                len(failed),
                self._attempt,
                "sent to the on-failure destination" if self.on_failure_arn else "skipped",
            )
            self._pending = self._pending[len(failed) :]
            self._attempt = 0
        else:
            self._retry_at = time.monotonic() + min(MAX_BACKOFF_SECONDS, 0.5 * 2**self._attempt)
        return Delivery(self.function, self.trigger, self.kind, event, self._attempt or 1, outcome, error)

    def _send_on_failure(self, records: list[dict[str, Any]], error: str | None) -> None:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        document = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self._attempt,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if error else "",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": next(iter(self._positions), ""),
                "startSequenceNumber": first.get("SequenceNumber"),
                "endSequenceNumber": last.get("SequenceNumber"),
                "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        sqs = self._clients("sqs")
        url = sqs.get_queue_url(QueueName=self.on_failure_arn.rsplit(":", 1)[-1] if self.on_failure_arn else "")
        sqs.send_message(QueueUrl=url["QueueUrl"], MessageBody=json.dumps(document))


def _first_failure(answer: Any, batch: list[dict[str, Any]]) -> int | None:
    """Index of the lowest reported failure; a malformed report fails the whole batch, as on AWS."""
    if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
        return None
    positions = {record["dynamodb"].get("SequenceNumber"): index for index, record in enumerate(batch)}
    indexes = []
    for item in answer["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if identifier not in positions:
            return 0
        indexes.append(positions[identifier])
    return min(indexes)


def _jsonable(value: Any) -> Any:
    """boto3's view of a stream record as Lambda's JSON event has it: bytes in base64, times as epoch seconds."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value
