"""The data lake through the local runtime: what the tracking API accepts lands in the lake bucket (Firehose → S3,
GZIP JSON Lines under raw/dt=<day>/), raw and canonical, while the events table keeps only the compact event."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from omnichannel.stored_event import event_json
from tests.e2e.test_cart_journey import WRITE_KEY_AUTH
from tests.support.quarantine_runtime import runtime


def test_accepted_messages_land_in_the_lake_raw_and_canonical() -> None:
    with runtime() as rt:
        # Given a batch of two messages from an SDK
        batch: list[dict[str, Any]] = [
            {"type": "track", "event": "Product Added", "anonymousId": "anon-lake", "messageId": f"m-{uuid.uuid4()}",
             "properties": {"sku": "SKU-1", "price": 19.9}},
            {"type": "page", "name": "Home", "anonymousId": "anon-lake", "messageId": f"m-{uuid.uuid4()}"},
        ]  # fmt: skip

        # When it is accepted
        answer = rt.request("POST", "/v1/batch", headers=WRITE_KEY_AUTH, body={"batch": batch})
        assert answer.status == 200, answer.body

        # Then the lake holds one GZIP object for the request, under today's partition, with both messages
        s3 = rt.client("s3")
        bucket = rt.resource_ref("DataLakeBucket")
        [key] = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert key.startswith(f"raw/dt={datetime.now(UTC):%Y-%m-%d}/")
        assert key.endswith(".gz")
        rows = [
            json.loads(line)
            for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines()
        ]
        assert [json.loads(row["raw"])["messageId"] for row in rows] == [message["messageId"] for message in batch]
        assert [row["type"] for row in rows] == ["track", "page"]
        assert json.loads(rows[0]["event"])["properties"] == {"sku": "SKU-1", "price": 19.9}

        # And the events table's items are the compact form: no raw message, the canonical event compressed
        items = rt.client("dynamodb").scan(TableName=rt.table_name("EventsTable"))["Items"]
        assert len(items) == 2
        assert all("raw" not in item and "B" in item["event"] for item in items)
        assert {row["event_id"] for row in rows} == {
            json.loads(event_json(item["event"]))["event_id"] for item in items
        }
