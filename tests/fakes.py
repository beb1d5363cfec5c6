"""In-memory stand-ins for the pieces tests do not want to reach AWS for."""

from __future__ import annotations

from dataclasses import dataclass, field

from capture.dal.in_memory_store import InMemoryEventStore

__all__ = ["FakeLambdaContext", "InMemoryEventStore"]


@dataclass
class FakeLambdaContext:
    """What Powertools reads from the Lambda context."""

    function_name: str = "CaptureApiFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:CaptureApiFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/CaptureApiFunction"
    log_stream_name: str = "2026/01/01/[$LATEST]abcdef"
    client_context: None = None
    identity: None = None
    extra: dict[str, str] = field(default_factory=dict)

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
