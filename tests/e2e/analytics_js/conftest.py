"""analytics.js (the pinned ``@segment/analytics-next``) served by the test's own page server, in headless Debian
chromium, against the local runtime serving template.yaml on an ephemeral port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_runtime.runtime import LocalRuntime
from tests.support.console_browser import TEMPLATE
from tests.support.page_server import PageServer, analytics_js_or_fail, serving_pages


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    with serving_pages(analytics_js_or_fail()) as pages:
        yield pages


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        yield rt
