"""The console in headless Chromium (Debian's chromium and chromium-driver, driven by Selenium) against the local
runtime serving template.yaml on an ephemeral port, filled with the demo's multi-channel dataset.

No browser download ever: Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver, and Selenium
Manager is told to stay offline. A missing browser FAILS the tests (``make test`` installs it when it can).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from local_runtime import demo_data
from local_runtime.runtime import LocalRuntime
from tests.support.console_browser import META_SECRET, SCREENSHOTS, TEMPLATE, Site, chromium_or_fail, settle


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as runtime:

        def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            response = runtime.request(method, path, body=body, headers=headers)
            return response.status, response.body.decode()

        dataset = demo_data.seed(
            send,
            run="c0ffee",
            now=datetime.now(UTC),
            admin_token=runtime.token("admin"),
            meta_app_secret=META_SECRET,
            customers=10,
        )
        assert dataset.problems == []
        settle(runtime)
        yield Site(runtime, dataset, runtime.token("agent", sub="e2e-agent"))


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    binary, driver_path = chromium_or_fail()
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--lang=en-GB",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=driver_path, log_output=os.devnull)
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
        # Then the page logged no script error and no Content-Security-Policy violation (an API's 4xx answer
        # the console explains, e.g. a used code's 410, is a network message, not an error of the page)
        errors = [
            entry["message"]
            for entry in driver.get_log("browser")  # type: ignore[no-untyped-call]
            if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
        ]
        assert errors == []
    finally:
        if getattr(request.node, "failed", False):
            driver.save_screenshot(str(SCREENSHOTS / f"FAILED-{request.node.name}.png"))
        driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.failed = True  # type: ignore[attr-defined]
    return report
