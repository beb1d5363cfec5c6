"""Scheduled entry point (daily): the CLV model fit.

The fit reads every customer's running totals (x repeat purchase days, t_x and T in weeks, mean repeat spend),
fits BG/NBD and Gamma-Gamma by maximum likelihood (scipy, imported here only) and stores the parameters with
the fit date and the sample size; the stream scorer reads them from there.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from kpis import wiring
from kpis.logic.clv_scoring import ClvModel, summary
from kpis.logic.customer import CustomerState
from kpis.logic.ports import KpiRepository
from kpis.observability import logger, metrics, tracer

MIN_FIT_SAMPLE = 20


def fit_clv(repository: KpiRepository, today_iso: str, max_customers: int) -> ClvModel | None:
    from datetime import date

    from kpis.clv.fit import FitError, fit_bgnbd, fit_gamma_gamma

    today = date.fromisoformat(today_iso)
    frequency: list[float] = []
    recency: list[float] = []
    age: list[float] = []
    repeat_frequency: list[float] = []
    spend: list[float] = []
    for item in repository.all_customers():
        state = CustomerState.from_item(str(item["customer"]), item)
        if not state.orders_by_day:
            continue
        x, t_x, big_t, mean = summary(state, today)
        frequency.append(float(x))
        recency.append(t_x)
        age.append(big_t)
        if x > 0 and mean > 0:
            repeat_frequency.append(float(x))
            spend.append(float(mean))
        if len(frequency) >= max_customers:
            break
    if len(frequency) < MIN_FIT_SAMPLE or len(spend) < MIN_FIT_SAMPLE:
        logger.info(
            "too few customers to fit the CLV models", extra={"customers": len(frequency), "repeaters": len(spend)}
        )
        return None
    try:
        model = ClvModel(
            bg=fit_bgnbd(frequency, recency, age),
            gg=fit_gamma_gamma(repeat_frequency, spend),
            fitted_at=today_iso,
            sample_size=len(frequency),
        )
    except FitError as error:
        # The previous parameters stay in use; an alarm on ClvFitFailed tells someone to look.
        logger.warning("CLV fit failed", extra={"reason": str(error), "customers": len(frequency)})
        return None
    repository.save_clv_parameters(today_iso, model.to_item())
    return model


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from kpis.settings import get_settings

    today = wiring.now().astimezone(get_settings().rollup_config().zone).date().isoformat()
    model = fit_clv(wiring.get_repository(), today, get_settings().clv_fit_max_customers)
    if model is None:
        return {"fitted": False}
    metrics.add_metric(name="ClvModelFitted", unit="Count", value=1)
    logger.info(
        "CLV models fitted",
        extra={"sample_size": model.sample_size, "bgnbd": model.bg.to_dict(), "gamma_gamma": model.gg.to_dict()},
    )
    return {
        "fitted": True,
        "sample_size": model.sample_size,
        "bgnbd": model.bg.to_dict(),
        "gamma_gamma": model.gg.to_dict(),
    }
