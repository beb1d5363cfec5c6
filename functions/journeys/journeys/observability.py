"""The journeys function's Logger, Metrics and Tracer."""

from omnichannel.observability import build_logger, build_metrics, build_tracer

SERVICE = "journeys"
logger = build_logger(SERVICE)
metrics = build_metrics(SERVICE)
tracer = build_tracer(SERVICE)
