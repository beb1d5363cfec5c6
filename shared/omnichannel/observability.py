"""Logger, Metrics and Tracer for one function, configured the same way everywhere.

No PII in logs: the code logs ids and counts, never payloads, and the logger's serializer masks anything shaped
like an e-mail address or an E.164 phone number that slips through anyway.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")  # \w is Unicode-aware: ş, ö, 你 included
_E164 = re.compile(r"\+[1-9]\d{6,14}\b")


def mask_pii(text: str) -> str:
    """Replace e-mail addresses and E.164 phone numbers, keeping the e-mail domain for troubleshooting."""
    text = _EMAIL.sub(lambda match: "***@" + match.group(0).rsplit("@", 1)[1], text)
    return _E164.sub(lambda match: match.group(0)[:3] + "*" * (len(match.group(0)) - 5) + match.group(0)[-2:], text)


def masked_json_dumps(record: Any) -> str:
    return mask_pii(json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":")))


def build_logger(service: str) -> Logger:
    return Logger(service=service, json_serializer=masked_json_dumps)


# A read request or an empty stream batch legitimately records no metric; Powertools warns on every such flush.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class _EMFProvider(AmazonCloudWatchEMFProvider):
    """Powertools' CloudWatch EMF provider, except that with ``POWERTOOLS_METRICS_DISABLED`` a flush drops what
    it does not print. Powertools 3.x keeps those metrics, so locally (one process runs every function) the set only
    grows, and ``add_metric`` prints it anyway once a metric holds 100 values: a line of EMF every 100 invocations
    in the local runtime's and the benchmarks' output."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
        if is_metrics_disabled():
            self.clear_metrics()


def build_metrics(service: str) -> Metrics:
    metrics = Metrics(service=service)
    metrics.provider = _EMFProvider(
        service=service,
        metric_set=metrics.metric_set,
        dimension_set=metrics.dimension_set,
        metadata_set=metrics.metadata_set,
        default_dimensions=metrics.default_dimensions,
    )
    return metrics


class _NoOpSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None: ...

    def add_subsegment(self, subsegment: Any) -> None: ...

    def remove_subsegment(self, subsegment: Any) -> None: ...

    def put_annotation(self, key: str, value: Any) -> None: ...

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class NoOpTracingProvider(BaseProvider):
    """Stands in for the X-Ray SDK when tracing is off (locally, in tests): importing the SDK alone costs
    about 100 ms of cold start, for nothing when no trace is sent."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoOpSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoOpSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...

    def patch(self, modules: Any) -> None: ...

    def patch_all(self) -> None: ...


def tracing_disabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes")


def build_tracer(service: str) -> Tracer:
    """Powertools Tracer (X-Ray). With tracing disabled, a no-op provider keeps the X-Ray SDK out entirely."""
    if tracing_disabled():
        return Tracer(service=service, disabled=True, provider=NoOpTracingProvider())
    return Tracer(service=service)
