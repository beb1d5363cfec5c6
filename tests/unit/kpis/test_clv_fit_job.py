"""The scheduled CLV fit reads the customers' running totals, stores the fitted parameters with the fit date and
sample size, and the stream scorer then values a customer with them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from kpis.dal import keys
from kpis.handlers.schedule_clv_fit import fit_clv
from kpis.logic.clv_scoring import ClvModel, score
from kpis.logic.customer_keys import pending_customer
from kpis.logic.facts import Fact, FactKind
from kpis.logic.money import FxRates
from kpis.logic.rollup_service import RollupConfig
from tests.support.kpi_service import memory_service

ZONE = ZoneInfo("Europe/Istanbul")
NOW = datetime(2026, 9, 1, tzinfo=UTC)


def test_the_fit_job_stores_parameters_the_scorer_uses():
    # Given 200 customers buying over eight months
    rng = random.Random(3)
    service, store = memory_service(RollupConfig(zone=ZONE), clock=lambda: NOW)
    fx = FxRates("TRY", {})
    for customer in range(200):
        # BG/NBD's own story: purchases at a personal rate, a personal chance to drop out after each one
        at = datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(days=rng.randint(0, 60))
        rate_days = rng.gammavariate(2, 10)
        dropout = rng.betavariate(1.5, 4)
        mean_spend = rng.gammavariate(3, 40)  # Gamma-Gamma: a personal mean, transactions gamma around it
        for n in range(50):
            if n and rng.random() < dropout:
                break
            at += timedelta(days=0 if n == 0 else rng.expovariate(1 / rate_days) + 1)
            if at >= NOW:
                break
            value = Decimal(repr(round(rng.gammavariate(6, mean_spend / 6), 2))) + Decimal("0.01")
            money = fx.convert(value, "TRY")
            day = at.astimezone(ZONE).date().isoformat()
            fact = Fact(f"o{customer}-{n}", FactKind.ORDER, at, day, "web", {"user_id": f"u{customer}"}, "v", money)
            service.record(fact)

    # When the job fits the models
    model = fit_clv(service.repository, "2026-09-01", max_customers=10_000)

    # Then the parameters are stored with the fit date and the sample size
    assert model is not None
    stored = ClvModel.from_item(store.items[keys.CLV_PARAMS])
    assert stored == model
    assert stored.sample_size == 200
    assert keys.clv_params_history("2026-09-01") in store.items
    # And a repeat buyer is worth more than a one-off buyer of the same age
    states = [service.load(pending_customer("user_id", f"u{c}")) for c in range(200)]
    today = NOW.date()
    repeat = max(states, key=lambda s: len(s.orders_by_day))
    single = next(s for s in states if len(s.orders_by_day) == 1)
    assert (
        score(repeat, today, stored, 365, 0.1)["predicted_clv"]
        > score(single, today, stored, 365, 0.1)["predicted_clv"]
    )
    assert 0 < score(repeat, today, stored, 365, 0.1)["probability_alive"] <= 1
