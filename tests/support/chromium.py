"""Headless Debian chromium through chromium-driver for the browser tests (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver as Chrome

from tests.support.console_browser import chromium_or_fail

BASE_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",  # root in CI containers
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--window-size=1366,900",
    "--lang=en-GB",
    "--no-first-run",
    "--disable-extensions",
    # No name resolves but the machine's own: nothing a page loads can reach a CDN or the internet
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


@contextmanager
def headless_chromium(*, arguments: Iterable[str] = (), logging: dict[str, str] | None = None) -> Iterator[Chrome]:
    """A headless chromium; ``logging`` sets ``goog:loggingPrefs`` (``{"performance": "ALL"}`` records requests)."""
    binary, driver_path = chromium_or_fail()
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (*BASE_ARGUMENTS, *arguments):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", **(logging or {})})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path, log_output=os.devnull))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def requests_sent(driver: Chrome) -> list[dict[str, Any]]:
    """The requests the page made since the last call (``Network.requestWillBeSent`` of the performance log):
    ``{"method", "url", "headers", "postData"}`` each, in order."""
    import json

    sent: list[dict[str, Any]] = []
    for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            sent.append(
                {
                    "method": request["method"],
                    "url": request["url"],
                    "headers": request.get("headers", {}),
                    "postData": request.get("postData"),
                }
            )
    return sent
