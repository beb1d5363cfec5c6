"""The rollups equal the KPIs computed independently from the raw generated events, to the cent, also when every
event is delivered twice and in shuffled order."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kpis.dal import keys
from kpis.dal.memory_store import MemoryKpiStore
from kpis.logic.attribution import AttributionModel
from kpis.logic.customer import AttributionSettings
from kpis.logic.dispatch import apply
from kpis.logic.money import FxRates
from kpis.logic.rollup_service import RollupConfig, RollupService
from tests.support.kpi_journeys import RATES, REPORTING, ZONE, Journeys, generate, reference

SOURCES = {"capture": "omnichannel.capture", "profile": "omnichannel.profiles", "cart": "omnichannel.carts"}
ATTRIBUTION = AttributionSettings(AttributionModel.POSITION_BASED, 30)


def _service(store) -> RollupService:
    config = RollupConfig(zone=ZONE, fx=FxRates(REPORTING, dict(RATES)), attribution=ATTRIBUTION)
    return RollupService(store, config, clock=lambda: datetime(2026, 6, 1, tzinfo=UTC))


def deliver(service: RollupService, journeys: Journeys, *, twice: bool, seed: int) -> None:
    deliveries = list(journeys.bus) * (2 if twice else 1)
    spend = list(journeys.spend) * (2 if twice else 1)
    random.Random(seed).shuffle(deliveries)
    random.Random(seed).shuffle(spend)
    for origin, model in deliveries:
        detail = model.to_bus_detail() if origin == "capture" else model.model_dump(mode="json")
        detail_type = (
            model.detail_type
            if origin == "capture"
            else {
                "ProfileCreated": "profile.created",
                "ProfileMerged": "profile.merged",
                "CartRecovered": "cart.recovered",
            }[type(model).__name__]
        )
        apply(service, SOURCES[origin], detail_type, detail)
    for row in spend:
        service.record_spend(row["day"], row["channel"], row["campaign"], row["amount"], row["currency"])


def stored_buckets(store: MemoryKpiStore) -> dict[tuple[str, str], dict[str, Decimal]]:
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for (pk, sk), item in store.items.items():
        if pk.startswith("R#") and sk.startswith("D#"):
            _, day, channel = sk.split("#", 2)
            out[(day, channel)] = {
                ("acquired" if name.startswith("acquired:") else name): Decimal(value)
                for name, value in item.items()
                if (name not in ("pk", "sk") and ":" not in name) or name.startswith("acquired:")
            }
    return out


def _nonzero(table: dict[Any, Any]) -> dict[Any, Any]:
    return {key: {n: v for n, v in row.items() if v} for key, row in table.items() if any(row.values())}


@pytest.mark.parametrize(
    ("twice", "seed"),
    [(False, 1), (True, 2), (True, 3)],
    ids=["once-in-order", "twice-shuffled", "twice-shuffled-again"],
)
def test_rollups_equal_the_kpis_computed_from_the_raw_events(twice, seed):
    # Given 150 generated multi-channel journeys (orders in three currencies, refunds, sessions, leads, sign-ups,
    # surveys, recovered carts, split profiles merged later) and a spend history
    journeys = generate(150, seed=11)
    expected = reference(journeys)
    store = MemoryKpiStore()

    # When every bus event and spend row is delivered (twice each and shuffled, in two of the cases)
    deliver(_service(store), journeys, twice=twice, seed=seed)

    # Then every day-and-channel bucket holds exactly the reference's numerators and denominators
    assert _nonzero(stored_buckets(store)) == _nonzero(expected["buckets"])
    # And the cohorts, the monthly retention and the all-time customer figures match
    cohorts = {
        sk: {n: Decimal(v) for n, v in item.items() if n not in ("pk", "sk") and v}
        for (pk, sk), item in store.items.items()
        if pk == "COHORT"
    }
    want = {
        c: {("active:" + n if n[:2] == "20" else n): v for n, v in row.items() if v}
        for c, row in expected["cohorts"].items()
    }
    assert {c: r for c, r in cohorts.items() if r} == want
    monthly: dict[str, Decimal] = defaultdict(Decimal)
    for (pk, _), item in store.items.items():
        if pk == "MONTHLY":
            monthly.update({n: Decimal(v) for n, v in item.items() if ":" in n and v})
    assert dict(monthly) == {n: v for n, v in expected["monthly"].items() if v}
    totals = {n: Decimal(v) for n, v in store.items[keys.CUSTOMERS].items() if n not in ("pk", "sk") and v}
    assert totals == {n: v for n, v in expected["totals"].items() if v}


def test_the_generated_journeys_exercise_every_figure():
    # Given the generated journeys, Then the comparison above is not vacuous: every counter occurs
    expected = reference(generate(150, seed=11))
    seen = {name for row in expected["buckets"].values() for name, value in row.items() if value}
    assert seen >= {
        "orders",
        "gross",
        "refunds",
        "refunded",
        "sessions",
        "page_views",
        "screen_views",
        "store_visits",
        "leads",
        "lead_customers",
        "signups",
        "new_customers",
        "acquired",
        "spend",
        "nps_responses",
        "nps_promoters",
        "nps_detractors",
        "csat_responses",
        "csat_satisfied",
        "recovered_orders",
        "recovered",
    }
    assert expected["totals"]["multi_customers"] > 0
    assert expected["totals"]["single_customers"] > 0
    assert any(name.startswith("retained:") and value for name, value in expected["monthly"].items())
