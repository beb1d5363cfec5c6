"""Every KPI equals the figure computed independently from the raw generated events (tests/support/kpi_journeys),
to the cent: for every attribution model and every kept lookback, with events delivered in batches, twice and
shuffled, and with the daily lifecycle review run between the batches as the clock moves on. The API answers the
same figures."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kpis import wiring
from kpis.dal.memory_store import MemoryKpiStore
from kpis.dal.repository import StoreRepository
from kpis.handlers import api as handler
from kpis.logic.attribution import AttributionModel
from kpis.logic.customer import AttributionSettings
from kpis.logic.dispatch import envelope
from kpis.logic.lifecycle import LifecycleThresholds
from kpis.logic.money import FxRates
from kpis.logic.ports import Kind
from kpis.logic.rollup_service import RollupConfig
from kpis.settings import get_settings
from tests.fakes import FakeLambdaContext
from tests.support.kpi_journeys import (
    LOOKBACKS,
    MODELS,
    RATES,
    REPORTING,
    STAGE_THRESHOLDS,
    ZONE,
    Journeys,
    generate,
    reference,
)
from tests.support.kpi_service import memory_service

SOURCES = {"capture": "omnichannel.capture", "profile": "omnichannel.profiles", "cart": "omnichannel.carts"}
NAMES = {"ProfileCreated": "profile.created", "ProfileMerged": "profile.merged", "CartRecovered": "cart.recovered"}
# A non-default model and lookback: the setting the daily review used to double-count under.
ATTRIBUTION = AttributionSettings(AttributionModel.POSITION_BASED, 14)
TODAY = date(2026, 6, 1)
FINAL = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def config() -> RollupConfig:
    return RollupConfig(
        zone=ZONE,
        fx=FxRates(REPORTING, dict(RATES)),
        attribution=ATTRIBUTION,
        thresholds=LifecycleThresholds(*STAGE_THRESHOLDS),
    )


def envelopes(journeys: Journeys) -> list[dict[str, Any]]:
    out = []
    for origin, model in journeys.bus:
        if origin == "capture":
            out.append(envelope(SOURCES[origin], model.detail_type, model.to_bus_detail()))
        else:
            out.append(envelope(SOURCES[origin], NAMES[type(model).__name__], model.model_dump(mode="json")))
    return out


def deliver(journeys: Journeys, *, twice: bool, seed: int) -> tuple[MemoryKpiStore, Clock]:
    """Bus events in random batches (1-60), shuffled, twice in some cases; the lifecycle review (its own service,
    configured as the template configures it) runs after every batch while the clock moves towards TODAY."""
    rng = random.Random(seed)
    clock = Clock(datetime(2026, 5, 10, 9, tzinfo=UTC))
    rollup, store = memory_service(config(), clock, store=MemoryKpiStore(), seed=seed)
    review, _ = memory_service(config(), clock, store=store, seed=seed + 1)
    events = envelopes(journeys) * (2 if twice else 1)
    rng.shuffle(events)
    position = 0
    while position < len(events):
        size = rng.randint(1, 60)
        result = rollup.apply_batch(events[position : position + size])
        assert result.poison == {}
        position += size
        clock.moment = min(FINAL, clock.moment + timedelta(hours=rng.randint(1, 30)))
        review.review()
    for row in journeys.spend * (2 if twice else 1):
        rollup.record_spend(row["day"], row["channel"], row["campaign"], row["amount"], row["currency"])
    clock.moment = FINAL
    review.review()
    return store, clock


def _nonzero(table: dict[Any, dict[str, Decimal]]) -> dict[Any, dict[str, Decimal]]:
    kept = {key: {n: Decimal(v) for n, v in row.items() if v} for key, row in table.items()}
    return {key: row for key, row in kept.items() if row}


def stored(repository: StoreRepository, kinds: tuple[Kind, ...]) -> dict[tuple[str, str], dict[str, Decimal]]:
    out: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for kind in kinds:
        for rows in repository.read(kind, "2026-01-01", "2026-12-31"):
            for name, value in rows.numbers.items():
                out[(rows.period, rows.dimension)][name] += value
    return out


def single(repository: StoreRepository, kind: Kind, first: str = "", last: str = "") -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for rows in repository.read(kind, first, last):
        for name, value in rows.numbers.items():
            out[name] += value
    return out


@pytest.fixture(scope="module")
def journeys() -> Journeys:
    return generate(150, seed=11)


@pytest.fixture(scope="module")
def expected(journeys: Journeys) -> dict[str, Any]:
    return reference(journeys, TODAY)


def test_the_generated_journeys_exercise_every_figure(expected):
    # Given the generated journeys, Then the comparisons below are not vacuous: every counter occurs
    seen = {name.split(":")[0] for row in expected["buckets"].values() for name, value in row.items() if value}
    assert seen >= {
        "orders", "gross", "refunds", "refunded", "sessions", "page_views", "screen_views", "store_visits", "leads",
        "lead_customers", "signups", "new_customers", "new_repeat_customers", "new_orders", "new_gross", "acquired",
        "spend", "nps_responses", "nps_promoters", "nps_detractors", "csat_responses", "csat_satisfied",
        "recovered_orders", "recovered", "gross_unconverted", "orders_unconverted", "fx_missing",
    }  # fmt: skip
    # And the models disagree (a comparison of models means something), the census holds several stages
    web_credit = {model: _sum(expected["buckets"], f"acquired:{model}:30", "web") for model in MODELS}
    assert len(set(web_credit.values())) >= 4
    assert len([stage for stage, count in expected["census"].items() if count]) >= 3
    assert expected["totals"]["multi_customers"] > 0 < expected["totals"]["single_customers"]
    assert 0 < expected["totals"]["valued_customers"] < expected["totals"]["customers"]
    assert any(row.get("sessions") for row in expected["campaigns"].values())
    assert any(row.get("orders") for row in expected["campaigns"].values())
    assert any(name.startswith("retained:") and value for name, value in expected["monthly"].items())


@pytest.mark.parametrize(("twice", "seed"), [(False, 1), (True, 2)], ids=["once-in-batches", "twice-shuffled"])
def test_every_aggregate_equals_the_reference(journeys, expected, twice, seed):
    # Given 150 generated journeys (orders in four currencies, one without a rate, refunds, sessions with UTM
    # campaigns, leads, sign-ups, surveys, recovered carts, split profiles merged later) and a spend history
    # When they are delivered in batches (twice and shuffled in one case) with the review running in between
    store, _ = deliver(journeys, twice=twice, seed=seed)
    repository = StoreRepository(store, clock=lambda: FINAL)

    # Then every day-and-channel bucket, with the credits of every model and lookback, is the reference's
    assert _nonzero(stored(repository, (Kind.BUCKET, Kind.CREDITS))) == _nonzero(expected["buckets"])
    # And so are the campaigns and UTM sources, the cohorts, the monthly retention, the totals and the census
    assert _nonzero(stored(repository, (Kind.CAMPAIGN,))) == _nonzero(expected["campaigns"])
    assert _nonzero(stored(repository, (Kind.SOURCE,))) == _nonzero(expected["sources"])
    cohorts = {rows.period: rows.numbers for rows in repository.read(Kind.COHORT, "2026-01", "2026-12")}
    assert _nonzero(cohorts) == _nonzero(expected["cohorts"])
    assert _nonzero({"m": single(repository, Kind.MONTHLY, "2026", "2026")}) == _nonzero({"m": expected["monthly"]})
    assert _nonzero({"t": single(repository, Kind.TOTALS)}) == _nonzero({"t": expected["totals"]})
    census = {name[6:]: value for name, value in single(repository, Kind.CENSUS).items()}
    assert _nonzero({"c": census}) == _nonzero({"c": expected["census"]})
    # And the hot counters were spread over shards
    assert len({sk for (pk, sk) in store.items if pk == "CUSTOMERS"}) > 1


@pytest.fixture
def api(journeys, monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("BUSINESS_TIME_ZONE", "Europe/Berlin")
    monkeypatch.setenv("REPORTING_CURRENCY", REPORTING)
    monkeypatch.setenv("FX_RATES", json.dumps({code: str(rate) for code, rate in RATES.items()}))
    monkeypatch.setenv("ATTRIBUTION_MODEL", ATTRIBUTION.model.value)
    monkeypatch.setenv("ATTRIBUTION_LOOKBACK_DAYS", str(ATTRIBUTION.lookback_days))
    get_settings.cache_clear()
    store, clock = deliver(journeys, twice=False, seed=5)
    wiring.override(store=store, clock=clock)
    yield
    wiring.reset()
    get_settings.cache_clear()


def get(path: str, **query: str) -> dict[str, Any]:
    claims = {"sub": "agent-1", "cognito:groups": "[agent]"}
    event = {
        "version": "2.0", "routeKey": f"GET {path}", "rawPath": path, "rawQueryString": "",
        "headers": {}, "queryStringParameters": query,
        "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"}, "requestId": "r",
                           "routeKey": f"GET {path}", "stage": "$default",
                           "authorizer": {"jwt": {"claims": claims, "scopes": None}}},
        "isBase64Encoded": False,
    }  # fmt: skip
    answer = handler.lambda_handler(event, FakeLambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    body: dict[str, Any] = json.loads(answer["body"])
    return body


def _sum(table: dict[tuple[str, str], dict[str, Decimal]], name: str, dimension: str) -> Decimal:
    return sum((row.get(name, Decimal(0)) for (_, where), row in table.items() if where == dimension), Decimal(0))


def test_the_api_answers_the_reference_for_every_model_and_lookback(api, expected):
    # Given the rollup filled as above; for every model and kept lookback
    buckets = expected["buckets"]
    for model in MODELS:
        for lookback in LOOKBACKS:
            # When an agent asks for the whole period's KPIs per channel under that model and lookback
            body = get("/kpis", start="2026-01-01", end="2026-12-31", granularity="total",
                       attribution_model=model, lookback_days=str(lookback))  # fmt: skip
            # Then each channel's acquired customers and CAC are the reference's
            name = f"acquired:{model}:{lookback}"
            for row in body["rows"]:
                want = _sum(buckets, name, row["channel"])
                assert Decimal(str(row["acquired"])) == want, (model, lookback, row["channel"])
                spend = _sum(buckets, "spend", row["channel"])
                cac = (spend / want).quantize(Decimal("0.01")) if want else None
                assert (Decimal(str(row["cac"])) if row["cac"] is not None else None) == cac
            # And over all channels the credits add up to the new customers
            assert Decimal(str(body["totals"]["acquired"])) == Decimal(str(body["totals"]["new_customers"]))


def test_the_api_answers_every_counter_currency_campaign_and_the_census(api, expected):
    body = get("/kpis", start="2026-01-01", end="2026-12-31", granularity="total")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in expected["buckets"].values():
        for name, value in row.items():
            sums[name] += value
    totals = body["totals"]
    for name in ("orders", "gross", "refunded", "sessions", "new_customers", "new_gross", "spend", "recovered"):
        assert Decimal(str(totals[name])) == sums[name], name
    # The GBP orders (no rate) are reported apart, and the AOV divides by the converted orders only
    assert totals["missing_rates"] == ["GBP"]
    assert Decimal(str(totals["unconverted"]["GBP"]["orders"])) == sums["orders_unconverted:GBP"]
    assert Decimal(str(totals["unconverted"]["GBP"]["gross"])) == sums["gross_unconverted:GBP"]
    converted = sums["orders"] - sums["orders_unconverted:GBP"]
    assert Decimal(str(totals["aov_gross"])) == (sums["gross"] / converted).quantize(Decimal("0.01"))
    repeat = (sums["new_repeat_customers"] / sums["new_customers"]).quantize(Decimal("0.0001"))
    assert Decimal(str(totals["repeat_purchase_rate"])) == repeat
    # And the lifecycle census is the reference's
    lifecycle = get("/kpis/lifecycle", start="2026-05-20", end="2026-06-01")
    census = {stage: Decimal(str(count)) for stage, count in lifecycle["census"].items() if Decimal(str(count))}
    assert census == {stage: count for stage, count in expected["census"].items() if count}
    # And per campaign, revenue and spend are the reference's, and ROAS their ratio
    campaigns = get("/kpis/campaigns", start="2026-01-01", end="2026-12-31")["campaigns"]
    for row in campaigns:
        revenue = _sum(expected["campaigns"], "gross", row["campaign"])
        spend = _sum(expected["campaigns"], "spend", row["campaign"])
        assert Decimal(str(row["revenue"])) == revenue
        assert Decimal(str(row["spend"])) == spend
        roas = (revenue / spend).quantize(Decimal("0.01")) if spend else None
        assert (Decimal(str(row["roas"])) if row["roas"] is not None else None) == roas
    assert {row["campaign"] for row in campaigns} >= {"spring-sale", "newsletter-04", "tv-spot", "brand", "promo"}


def test_the_review_alone_never_moves_credits(journeys):
    # Given the rollup filled under one configuration, and the review run repeatedly as time passes
    store, clock = deliver(journeys, twice=False, seed=9)
    repository = StoreRepository(store, clock=clock)
    before = stored(repository, (Kind.CREDITS,))
    review = memory_service(config(), clock, store=store)[0]
    changed = 0
    for _ in range(3):
        clock.moment += timedelta(days=40)
        changed += review.review()
    # Then stages moved, and the credits of every model are where they were
    assert changed > 0
    assert _nonzero(stored(repository, (Kind.CREDITS,))) == _nonzero(before)
