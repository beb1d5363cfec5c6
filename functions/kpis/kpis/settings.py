"""The KPI function's configuration, read once from its environment (template.yaml)."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import field_validator

from kpis.logic.attribution import AttributionModel
from kpis.logic.customer import AttributionSettings
from kpis.logic.lifecycle import LifecycleThresholds
from kpis.logic.money import FxRates
from kpis.logic.rollup_service import RollupConfig
from omnichannel.config import CommonSettings, settings_from_env


class KpiSettings(CommonSettings):
    kpis_table_name: str = "kpis"
    business_time_zone: str = "Europe/Istanbul"
    reporting_currency: str = "TRY"
    fx_rates: str = "{}"  # JSON: units of the reporting currency per unit of each currency
    attribution_model: AttributionModel = AttributionModel.LAST_TOUCH
    attribution_lookback_days: int = 30
    lifecycle_at_risk_days: int = 60
    lifecycle_lapsed_days: int = 180
    lifecycle_loyal_min_orders: int = 3
    lifecycle_loyal_min_value: Decimal = Decimal(0)
    clv_horizon_days: int = 365
    clv_annual_discount_rate: float = 0.10
    clv_fit_max_customers: int = 200_000
    distinct_exact_cap: int = 256
    # A dedupe item outlives every redelivery: EventBridge retries (24 h), the archive's replay (14 days), the
    # queue (4 days) and its dead-letter queue (14 days from the first receive). A visit (the session marker, which
    # holds its page views' digests) is kept longer: a late event of its day must find its session.
    dedupe_days: int = 30
    visit_days: int = 400
    counter_shards: int = 8

    @field_validator("business_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    def rollup_config(self) -> RollupConfig:
        rates = {code.upper(): Decimal(str(rate)) for code, rate in json.loads(self.fx_rates or "{}").items()}
        return RollupConfig(
            zone=ZoneInfo(self.business_time_zone),
            fx=FxRates(self.reporting_currency, rates),
            attribution=AttributionSettings(self.attribution_model, self.attribution_lookback_days),
            thresholds=LifecycleThresholds(
                at_risk_days=self.lifecycle_at_risk_days,
                lapsed_days=self.lifecycle_lapsed_days,
                loyal_min_orders=self.lifecycle_loyal_min_orders,
                loyal_min_value=self.lifecycle_loyal_min_value,
            ),
            distinct_cap=self.distinct_exact_cap,
        )


@cache
def get_settings() -> KpiSettings:
    return settings_from_env(KpiSettings)
