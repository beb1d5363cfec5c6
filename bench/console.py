"""Console benchmark: what loading the Customer 360 costs for a customer with 10 events and with 10,000.

    .venv/bin/python bench/console.py [--small 10] [--middle 1000] [--large 10000]

The local runtime serves template.yaml in-process (moto); headless Chromium (Debian's chromium and
chromium-driver, as in tests/e2e/console) opens ``/console#/customers/<profile_id>``. Counted: the HTTP requests
the page makes (the browser's resource timing entries: API calls and static files apart), and every DynamoDB
request the functions behind those calls make (counted at botocore, in-process). The customer's history is
written to capture's events table as capture stores it (its identifier indexes included), after the profile was
created through the API.

Bounded means: the same API requests for every history, and the same DynamoDB calls once the history is longer
than one timeline page (``--middle`` vs ``--large``; a history shorter than a page needs no look-ahead Query).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda
import botocore.client

from local_runtime.runtime import LocalRuntime
from omnichannel.canonical_event import CanonicalEvent, utc_iso

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONSOLE_CHROMEDRIVER", "/usr/bin/chromedriver")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CHANNELS = ["web", "app", "store", "whatsapp"]


class DynamoDBCalls:
    """Every DynamoDB request made in this process while ``counting`` (the functions run in-process)."""

    def __init__(self) -> None:
        self.counting = False
        self.calls: collections.Counter[str] = collections.Counter()
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
        calls = self

        def counted(client: Any, operation: str, params: Any) -> Any:
            if calls.counting and client.meta.service_model.service_name == "dynamodb":
                calls.calls[operation] += 1
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[attr-defined]

    def total(self) -> int:
        return sum(self.calls.values())


def history(rt: LocalRuntime, user_id: str, count: int) -> None:
    """``count`` captured events of this user, as capture stores them (its indexes included)."""
    client = rt.client("dynamodb")
    table = rt.table_name("EventsTable")
    for start in range(0, count, 25):
        batch = []
        for number in range(start, min(start + 25, count)):
            moment = T0 - timedelta(minutes=number)
            event = CanonicalEvent.model_validate(
                {
                    "event_id": f"bench-{user_id}-{number}",
                    "message_id": f"m-{user_id}-{number}",
                    "source": "bench",
                    "type": "track",
                    "name": "Product Viewed",
                    "channel": CHANNELS[number % len(CHANNELS)],
                    "identifiers": {"user_id": user_id},
                    "occurred_at": moment,
                    "received_at": moment,
                    "properties": {"product_id": f"SKU-{number % 97}"},
                }
            )
            batch.append(
                {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": f"EVENT#{event.event_id}"},
                            "sk": {"S": "EVENT"},
                            "occurred_at": {"S": utc_iso(moment)},
                            "event": {"S": json.dumps(event.to_bus_detail())},
                            "id_user_id": {"S": user_id},
                        }
                    }
                }
            )
        client.batch_write_item(RequestItems={table: batch})


def customer(rt: LocalRuntime, user_id: str) -> str:
    """A profile created through the API (one identify event); its profile id."""
    email = f"{user_id}@ornek.com.tr"
    body: dict[str, Any] = {
        "type": "identify",
        "userId": user_id,
        "messageId": f"identify-{user_id}",
        "traits": {"name": "Ayşe Yılmaz 王芳", "email": email},
    }
    status, _, answer = rt.request("POST", "/v1/identify", headers={"Authorization": _basic()}, body=body)
    assert status == 200, answer
    for _ in range(4):
        rt.drain()
    found = rt.request(
        "GET", "/profiles", headers={"Authorization": f"Bearer {rt.token('agent')}"}, query={"email": email}
    )
    assert found.status == 200, found.body
    profile_id: str = found.json()["profile_id"]
    return profile_id


def _basic() -> str:
    import base64

    return "Basic " + base64.b64encode(b"dev-write-key:").decode()


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench/console.py needs {path}: make browser (apt-get install chromium chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER, log_output=os.devnull))


def load_360(driver: Any, rt: LocalRuntime, profile_id: str, calls: DynamoDBCalls) -> dict[str, Any]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{rt.base_url}/console")  # sign in (the token lives in sessionStorage), then a fresh page load
    driver.execute_script("sessionStorage.setItem('omnichannel.console.token', arguments[0])", rt.token("agent"))
    driver.get("about:blank")
    calls.calls.clear()
    calls.counting = True
    started = time.perf_counter()
    driver.get(f"{rt.base_url}/console#/customers/{profile_id}")
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "customer-name"))
    elapsed = time.perf_counter() - started
    calls.counting = False
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.initiatorType, e.name])"
    )
    api = [name for kind, name in entries if kind in ("fetch", "xmlhttprequest")]
    static = [name for kind, name in entries if kind not in ("fetch", "xmlhttprequest")]
    shown = len(driver.find_elements(By.CSS_SELECTOR, "#timeline li.event"))
    return {
        "api": api,
        "static": len(static) + 1,  # + the page itself
        "dynamodb": calls.total(),
        "operations": dict(calls.calls),
        "events_shown": shown,
        "seconds": elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--middle", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()
    calls = DynamoDBCalls()
    print("Customer 360 load (headless Chromium -> local runtime -> functions -> DynamoDB in moto)")
    with LocalRuntime.start(ROOT / "template.yaml", mode="inprocess", http_port=0) as rt:
        driver = browser()
        try:
            sizes = (args.small, args.middle, args.large)
            profiles = {size: customer(rt, f"bench-{size}") for size in sizes}
            for size in sizes:  # written after every profile exists; their stream records are never delivered
                history(rt, f"bench-{size}", size - 1)
            results = {size: load_360(driver, rt, profiles[size], calls) for size in sizes}
        finally:
            driver.quit()
    print(f"{'events':>8} {'API requests':>13} {'static files':>13} {'DynamoDB calls':>15} {'events shown':>13}  load")
    for size, result in results.items():
        print(
            f"{size:>8} {len(result['api']):>13} {result['static']:>13} {result['dynamodb']:>15}"
            f" {result['events_shown']:>13}  {result['seconds'] * 1000:.0f} ms"
        )
    for size, result in results.items():
        paths = sorted(url.split("//", 1)[1].split("/", 1)[1].split("?")[0] for url in result["api"])
        print(f"  {size} events: " + ", ".join(f"/{path}" for path in paths))
        print(f"    DynamoDB: {', '.join(f'{op} x{n}' for op, n in sorted(result['operations'].items()))}")
    small, middle, large = results[args.small], results[args.middle], results[args.large]
    same = len(small["api"]) == len(middle["api"]) == len(large["api"]) and middle["dynamodb"] == large["dynamodb"]
    print(
        f"bounded: {len(large['api'])} API requests whatever the history; {large['dynamodb']} DynamoDB calls for"
        f" {args.middle} and for {args.large} events"
        if same
        else "NOT bounded: the larger history cost more requests"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
