"""Settings every test shares: fake AWS credentials (nothing reaches AWS), tracing off, one region."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Omnichannel",
        "POWERTOOLS_DEV": "false",
        # botocore routes DynamoDB Streams calls to account-id endpoints, which moto does not know.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _fresh_aws_clients() -> Iterator[None]:
    """boto3 clients are cached per process; each test starts with new ones (and so with its own moto)."""
    from omnichannel import aws_clients

    aws_clients.reset()
    yield
    aws_clients.reset()


@pytest.fixture(autouse=True)
def _no_metrics_left_over() -> None:
    """Powertools keeps every ``Metrics`` instance's values in one process-wide set, printed at the next flush; a
    test that adds metrics without flushing them (a shared helper called directly) must not add to the next
    test's line."""
    from aws_lambda_powertools import Metrics

    Metrics(service="tests").clear_metrics()
