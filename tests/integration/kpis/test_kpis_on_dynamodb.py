"""The KPI function on DynamoDB (moto, the table as template.yaml defines it): bus events through the handler,
twice and shuffled, equal the raw-event reference; the API answers by role; the historical import is idempotent."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from kpis import wiring
from kpis.dal.dynamodb_store import DynamoDBKpiStore
from kpis.handlers import api as handler
from kpis.handlers import bus_batch
from kpis.logic.report import COUNTERS
from kpis.settings import get_settings
from local_runtime.moto_patches import patched_moto
from omnichannel.event_bus import BusEvent, PublishResult, bundle, bus_time
from tests.fakes import FakeLambdaContext
from tests.support.kpi_journeys import RATES, generate, reference
from tests.support.moto_tables import create_table, table_properties
from tests.support.sqs_batches import sqs_batch

TABLE = "kpis-test"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    def publish(self, events: Any) -> PublishResult:
        self.events.extend(events)
        return PublishResult(published=[event.event_id for event in events])


@pytest.fixture
def kpis(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBKpiStore]:
    monkeypatch.setenv("KPIS_TABLE_NAME", TABLE)
    monkeypatch.setenv("BUSINESS_TIME_ZONE", "Europe/Berlin")
    monkeypatch.setenv("REPORTING_CURRENCY", "TRY")
    monkeypatch.setenv("FX_RATES", json.dumps({code: str(rate) for code, rate in RATES.items()}))
    monkeypatch.setenv("ATTRIBUTION_MODEL", "position_based")
    get_settings.cache_clear()
    # patched_moto: a transaction backs up the items it touches, not the whole table (stock moto's deep copy of
    # every table made this test quadratic: 5 minutes on a busy 2-core machine; see test_moto_patches.py)
    with mock_aws(), patched_moto():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, TABLE, table_properties("KpisTable"))
        store = DynamoDBKpiStore(client, TABLE)
        wiring.override(store=store, publisher=RecordingPublisher(), clock=lambda: NOW)
        yield store
    wiring.reset()
    get_settings.cache_clear()


def _bus(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": "x", "detail-type": detail_type, "source": source, "account": "123456789012",
            "time": "2026-06-01T12:00:00Z", "region": "eu-west-1", "resources": [], "detail": detail}  # fmt: skip


def _http(
    method: str,
    path: str,
    role: str | None,
    sub: str = "agent-1",
    query: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    claims = {"sub": sub, **({"cognito:groups": f"[{role}]"} if role else {})}
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"}, "queryStringParameters": query or {},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}, "requestId": "r",
                           "routeKey": f"{method} {path}", "stage": "$default",
                           "authorizer": {"jwt": {"claims": claims, "scopes": None}}},
        "isBase64Encoded": False,
    }  # fmt: skip
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def test_bus_events_twice_and_shuffled_equal_the_reference_and_the_api_reads_them(kpis):
    # Given 15 generated journeys, each bus event delivered twice in shuffled order through the Lambda handler
    journeys = generate(15, seed=23)
    expected = reference(journeys)
    deliveries = list(journeys.bus) * 2
    random.Random(4).shuffle(deliveries)
    names = {"ProfileCreated": "profile.created", "ProfileMerged": "profile.merged", "CartRecovered": "cart.recovered"}
    sources = {"capture": "omnichannel.capture", "profile": "omnichannel.profiles", "cart": "omnichannel.carts"}
    events = []
    for origin, model in deliveries:
        if origin == "capture":
            events.append(_bus(sources[origin], model.detail_type, model.to_bus_detail()))
        else:
            events.append(_bus(sources[origin], names[type(model).__name__], model.model_dump(mode="json")))
    # in SQS batches of 25, as the rollup's queue hands them over
    answers = [
        bus_batch.lambda_handler(sqs_batch(events[start : start + 25]), FakeLambdaContext())
        for start in range(0, len(events), 25)
    ]
    # And the spend history posted by an admin, twice
    rows = [{**row, "amount": row["amount"]} for row in journeys.spend]
    for _ in range(2):
        answer = handler.lambda_handler(_http("POST", "/kpis/spend", "admin", body={"rows": rows}), FakeLambdaContext())
        assert answer["statusCode"] == 200, answer["body"]

    # Then no record failed or was quarantined (every copy was a harmless duplicate: the totals below are exact)
    assert answers
    assert all(answer == {"batchItemFailures": []} for answer in answers)

    # When an agent asks for the whole period's KPIs in one total
    answer = handler.lambda_handler(
        _http("GET", "/kpis", "agent", query={"start": "2026-01-01", "end": "2026-12-31", "granularity": "total"}),
        FakeLambdaContext(),
    )
    assert answer["statusCode"] == 200, answer["body"]
    body = json.loads(answer["body"])

    # Then every counter equals the reference's sum, to the cent, and the ratios are ratios of those sums
    sums = {
        name: sum((row.get(name, Decimal(0)) for row in expected["buckets"].values()), Decimal(0))
        for name in COUNTERS
        if name != "fx_missing"
    }
    got = {name: Decimal(str(body["totals"][name])) for name in sums}
    assert got == sums
    # (the GBP orders have no rate: the AOV divides by the orders that were converted)
    unconverted = sum(
        (row.get("orders_unconverted:GBP", Decimal(0)) for row in expected["buckets"].values()), Decimal(0)
    )
    assert unconverted > 0
    assert Decimal(str(body["totals"]["aov_gross"])) == (sums["gross"] / (sums["orders"] - unconverted)).quantize(
        Decimal("0.01")
    )
    assert Decimal(str(body["totals"]["conversion_rate"])) == (sums["orders"] / sums["sessions"]).quantize(
        Decimal("0.0001")
    )
    nps = ((sums["nps_promoters"] - sums["nps_detractors"]) * 100 / sums["nps_responses"]).quantize(Decimal("0.01"))
    assert Decimal(str(body["totals"]["nps"])) == nps
    assert body["attribution"] == {
        "model": "position_based",
        "lookback_days": 30,
        "kept_lookbacks": [1, 7, 14, 30, 60, 90],
    }
    assert Decimal(str(body["customers"]["customers"])) == expected["totals"]["customers"]

    # And a customer may not read the business's KPIs, nor another customer's value
    assert (
        handler.lambda_handler(_http("GET", "/kpis", None, sub="user-23-1"), FakeLambdaContext())["statusCode"] == 403
    )
    assert (
        handler.lambda_handler(_http("GET", "/kpis/customers/user-23-2", None, sub="user-23-1"), FakeLambdaContext())[
            "statusCode"
        ]
        == 403
    )
    # But reads their own value
    own = handler.lambda_handler(_http("GET", "/kpis/customers/user-23-1", None, sub="user-23-1"), FakeLambdaContext())
    assert own["statusCode"] == 200
    assert json.loads(own["body"])["customer_id"].startswith("p-")


def _totals() -> dict[str, Decimal]:
    answer = handler.lambda_handler(
        _http("GET", "/kpis", "agent", query={"start": "2026-01-01", "end": "2026-12-31", "granularity": "total"}),
        FakeLambdaContext(),
    )
    assert answer["statusCode"] == 200, answer["body"]
    body = json.loads(answer["body"])
    return {name: Decimal(str(body["totals"][name])) for name in COUNTERS if name != "fx_missing"}


def test_bundles_redelivered_and_a_transient_failure_mid_batch_count_nothing_twice(kpis):
    # Given 15 generated journeys' bus events, put in bundles as the stream publishers do (small bundles: many)
    journeys = generate(15, seed=23)
    expected = reference(journeys)
    names = {"ProfileCreated": "profile.created", "ProfileMerged": "profile.merged", "CartRecovered": "cart.recovered"}
    sources = {"capture": "omnichannel.capture", "profile": "omnichannel.profiles", "cart": "omnichannel.carts"}
    events: list[BusEvent] = []
    for n, (origin, model) in enumerate(journeys.bus):
        if origin == "capture":
            events.append(BusEvent(model.event_id, sources[origin], model.detail_type, model.to_bus_detail()))
        else:
            detail = model.model_dump(mode="json")
            events.append(
                BusEvent(str(detail.get("event_id", n)), sources[origin], names[type(model).__name__], detail)
            )
    bundled = []
    for source in sources.values():  # a stream batch is one table's: one source
        for entry, _ in bundle([e for e in events if e.source == source], bus_time(NOW), limit=4096):
            bundled.append(_bus(entry.source, entry.detail_type, entry.detail))
    assert sum(1 for body in bundled if body["detail-type"] == "bundle") > 5
    # And a store that fails (throttled) on the third transaction it writes, once
    client = kpis._client
    writes: list[int] = []

    def throttle_once(**_: Any) -> None:
        writes.append(1)
        if len(writes) == 3:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "TransactWriteItems")

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", throttle_once)

    # When every bundle is delivered through the handler in batches of 10 records, then all of them again (shuffled)
    # together with whatever came back
    def deliver(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        again = []
        for start in range(0, len(bodies), 10):
            batch = sqs_batch(bodies[start : start + 10])
            answer = bus_batch.lambda_handler(batch, FakeLambdaContext())
            failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
            again += [json.loads(r["body"]) for r in batch["Records"] if r["messageId"] in failed]
        return again

    came_back = deliver(bundled)
    assert came_back  # the throttled batch's records came back
    redelivery = bundled + came_back
    random.Random(5).shuffle(redelivery)
    assert deliver(redelivery) == []

    # Then every counter the bus feeds equals the reference's sum, to the cent: nothing counted twice, nothing lost
    # (spend comes from the spend API, not posted here)
    sums = {
        name: sum((row.get(name, Decimal(0)) for row in expected["buckets"].values()), Decimal(0))
        for name in COUNTERS
        if name not in ("fx_missing", "spend")
    }
    totals = _totals()
    assert {name: totals[name] for name in sums} == sums
    assert sums["orders"] > 0


def test_a_bad_query_names_its_field(kpis):
    answer = handler.lambda_handler(_http("GET", "/kpis", "agent", query={"granularity": "hour"}), FakeLambdaContext())
    assert answer["statusCode"] == 400
    assert "granularity" in answer["body"]


def test_unknown_and_unsupported_parameters_are_refused_by_name(kpis):
    for query, field in (
        ({"channel": "tv"}, "channel"),
        ({"colour": "red"}, "colour"),
        ({"lookback_days": "45"}, "lookback_days"),
        ({"attribution_model": "data_driven"}, "attribution_model"),
        ({"compare": "last_week"}, "compare"),
    ):
        answer = handler.lambda_handler(_http("GET", "/kpis", "agent", query=query), FakeLambdaContext())
        assert answer["statusCode"] == 400, query
        assert field in {error["field"].split(".")[-1] for error in json.loads(answer["body"])["errors"]}, answer


def test_negative_spend_is_refused_and_nothing_is_stored(kpis):
    rows = [{"day": "2026-05-01", "channel": "web", "campaign": "a", "amount": "10.00", "currency": "TRY"},
            {"day": "2026-05-01", "channel": "web", "campaign": "b", "amount": "-5.00", "currency": "TRY"}]  # fmt: skip
    answer = handler.lambda_handler(_http("POST", "/kpis/spend", "admin", body={"rows": rows}), FakeLambdaContext())
    assert answer["statusCode"] == 400
    assert "rows.1.amount" in answer["body"]
    totals = handler.lambda_handler(
        _http("GET", "/kpis", "agent", query={"start": "2026-05-01", "end": "2026-05-01", "granularity": "total"}),
        FakeLambdaContext(),
    )
    assert Decimal(json.loads(totals["body"])["totals"]["spend"]) == 0


def test_every_view_exports_csv(kpis):
    journeys = generate(8, seed=3)
    for origin, model in journeys.bus:
        if origin == "capture":
            wiring.get_rollup_service().apply_batch(
                [_bus("omnichannel.capture", model.detail_type, model.to_bus_detail())]
            )
    for path, query, first_column in (
        ("/kpis", {"start": "2026-01-01", "end": "2026-06-01", "granularity": "month"}, "period"),
        ("/kpis/cohorts", {"from_month": "2026-01", "to_month": "2026-06"}, "cohort"),
        ("/kpis/campaigns", {"start": "2026-01-01", "end": "2026-06-01"}, "campaign"),
        ("/kpis/lifecycle", {"start": "2026-05-10", "end": "2026-06-01"}, "day"),
    ):
        event = _http("GET", path, "agent", query=query)
        event["headers"]["accept"] = "text/csv"
        answer = handler.lambda_handler(event, FakeLambdaContext())
        assert answer["statusCode"] == 200, answer["body"]
        assert answer["headers"]["Content-Type"].startswith("text/csv")
        assert "attachment" in answer["headers"]["Content-Disposition"]
        lines = answer["body"].splitlines()
        assert lines[0].split(",")[0] == first_column, (path, lines[0])
        json_answer = json.loads(
            handler.lambda_handler(_http("GET", path, "agent", query=query), FakeLambdaContext())["body"]
        )
        rows = {
            "/kpis": "rows",
            "/kpis/cohorts": "cohorts",
            "/kpis/campaigns": "campaigns",
            "/kpis/lifecycle": "movement",
        }
        assert len(lines) - 1 == len(json_answer[rows[path]]), path
