"""Helpers of the console's browser tests (tests/e2e/console): the seeded site, Chromium, screenshots."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from local_runtime import demo_data
from local_runtime.runtime import LocalRuntime

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONSOLE_CHROMEDRIVER", "/usr/bin/chromedriver")
META_SECRET = "dev-meta-app-secret"  # local_runtime/dev-config.json


@dataclass
class Site:
    runtime: LocalRuntime
    dataset: demo_data.Dataset
    agent_token: str

    @property
    def url(self) -> str:
        return self.runtime.base_url

    def api(self, path: str, **query: Any) -> Any:
        response = self.runtime.request(
            "GET", path, headers={"Authorization": f"Bearer {self.agent_token}"}, query=query or None
        )
        assert response.status == 200, response.body
        return response.json()


def settle(runtime: LocalRuntime) -> None:
    """capture -> bus -> profiles -> profiles' stream -> bus -> kpis, carts, handoff: let every hop deliver."""
    for _ in range(5):
        runtime.drain(timeout=60)


def chromium_or_fail() -> tuple[str, str]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (Path(path).is_file() and os.access(path, os.X_OK))]
    if missing:
        pytest.fail(
            f"the console's browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} missing):"
            " `make test` installs them as root (apt-get install -y chromium chromium-driver), else install them",
            pytrace=False,
        )
    return CHROMIUM, CHROMEDRIVER


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def shot(driver: WebDriver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def attr(element: WebElement, name: str) -> str:
    """An attribute the console always sets (a missing one fails the test here, not as a None later)."""
    value = element.get_attribute(name)
    assert value is not None, f"<{element.tag_name}> has no {name}"
    return value


def sign_in(driver: WebDriver, site: Site, *, dev: bool = False) -> None:
    driver.get(f"{site.url}/console")
    # Signed out: no navigation, only the sign-in form
    wait(driver).until(lambda d: d.find_element(By.ID, "token"))
    assert not driver.find_element(By.ID, "nav").is_displayed()
    if dev:
        shot(driver, "00-sign-in")
        wait(driver).until(lambda d: d.find_element(By.ID, "dev-signin").is_displayed())
        driver.find_element(By.ID, "dev-signin").click()
    else:
        field = wait(driver).until(lambda d: d.find_element(By.ID, "token"))
        field.send_keys(site.agent_token)
        driver.find_element(By.ID, "signin-submit").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "search-query"))
