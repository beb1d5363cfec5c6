"""The capture function's Logger, Metrics and Tracer (one instance each, shared by its modules)."""

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from omnichannel.observability import build_logger, build_metrics, build_tracer

SERVICE = "capture"
logger = build_logger(SERVICE)
metrics = build_metrics(SERVICE)
tracer = build_tracer(SERVICE)


def count_by(name: str, dimension: str, value: str, amount: float = 1) -> None:
    """A count with one extra dimension (channel, provider), in its own EMF record so no other metric inherits it.
    ``single_metric`` prints even when metrics are disabled (POWERTOOLS_METRICS_DISABLED), so that is checked here."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=name, unit=MetricUnit.Count, value=amount, default_dimensions={"service": SERVICE}
    ) as metric:
        metric.add_dimension(name=dimension, value=value)
