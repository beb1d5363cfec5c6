"""The outbound function's Logger, Metrics and Tracer (one instance each, shared by its modules)."""

from omnichannel.observability import build_logger, build_metrics, build_tracer

SERVICE = "outbound"
logger = build_logger(SERVICE)
metrics = build_metrics(SERVICE)
tracer = build_tracer(SERVICE)
