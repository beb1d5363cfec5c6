"""Server mode: the HTTP API on a real socket and moto as a server that any AWS client can reach."""

from __future__ import annotations

import base64
import gzip
import time

import boto3
import requests

from local_runtime import LocalRuntime
from tests.local_runtime.support import CONFIG, TEMPLATE, echoed, recorded


def test_server_mode_listens_on_sockets_and_shares_moto_with_every_client() -> None:
    # Given the runtime in server mode on ephemeral ports
    with LocalRuntime.start(TEMPLATE, config=CONFIG, mode="server", http_port=0, moto_port=0) as runtime:
        assert runtime.moto_endpoint is not None
        assert not runtime.base_url.endswith(":0")
        # When a real HTTP client calls a route, with a gzip body
        answer = requests.post(
            runtime.base_url + "/v1/track?debug=1",
            data=gzip.compress(b'{"userId": "u1"}'),
            headers={"content-type": "application/json", "content-encoding": "gzip", "cookie": "a=1"},
            timeout=10,
        )
        # Then the function got a payload 2.0 event from the socket request
        assert answer.status_code == 200
        assert answer.headers["x-echo"] == "1"
        echo = echoed(answer.content)
        event = echo["event"]
        assert event["routeKey"] == "POST /v1/track"
        assert event["queryStringParameters"] == {"debug": "1"}
        assert event["cookies"] == ["a=1"]
        assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
        assert event["requestContext"]["http"]["userAgent"].startswith("python-requests/")
        assert event["requestContext"]["domainName"] == runtime.base_url.removeprefix("http://")
        assert event["isBase64Encoded"] is True
        assert gzip.decompress(base64.b64decode(event["body"])) == b'{"userId": "u1"}'
        # And the function's AWS calls go to the moto server
        assert echo["env"]["AWS_ENDPOINT_URL"] == runtime.moto_endpoint
        # When any boto3 client (like the AWS CLI) is pointed at the moto endpoint
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=runtime.moto_endpoint,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # Then it sees the template's tables
        assert runtime.table_name("RecordsTable") in dynamodb.list_tables()["TableNames"]
        assert requests.get(runtime.base_url + "/nowhere", timeout=10).json() == {"message": "Not Found"}


def test_server_mode_delivers_what_a_function_publishes_in_the_background() -> None:
    # Given the runtime in server mode (background delivery is its default)
    with LocalRuntime.start(TEMPLATE, config=CONFIG, mode="server", http_port=0, moto_port=0) as runtime:
        # When a function publishes an event over HTTP
        body = [{"Source": "fixture.shop", "DetailType": "Order Completed", "Detail": {"event_id": "o-srv"}}]
        assert requests.post(runtime.base_url + "/publish", json=body, timeout=10).status_code == 202
        # Then the consumer gets it without anyone draining, and /_local/bus shows it
        deadline = time.monotonic() + 5
        while not recorded(runtime, "orders") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [event["detail"]["event_id"] for event in recorded(runtime, "orders")] == ["o-srv"]
        bus = requests.get(runtime.base_url + "/_local/bus", timeout=10).json()
        assert [event["detail-type"] for event in bus] == ["Order Completed"]
