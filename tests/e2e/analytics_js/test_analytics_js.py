"""analytics.js as a web developer sets it up from the README, in headless chromium: the npm package with
``cdnURL`` and Segment's snippet loader with ``analytics._cdn``, both pointed at the local runtime. Every call lands
in capture, resolves to one profile, and the page asks nothing of any host but its own and the API."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium.webdriver.remote.webdriver import WebDriver

from local_runtime.runtime import LocalRuntime
from tests.support.chromium import headless_chromium, requests_sent
from tests.support.page_server import PageServer

ROOT = Path(__file__).resolve().parents[3]
WRITE_KEY = "dev-web-key"  # local_runtime/dev-config.json: source website, channel web
BATCHING = {"integrations": {"Segment.io": {"deliveryStrategy": {"strategy": "batching", "config": {"size": 3}}}}}


def readme_block(language: str, marker: str) -> str:
    """The README's fenced ``language`` block that contains ``marker``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"```{language}\n(.*?)```", readme, flags=re.DOTALL)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"README.md: expected one ```{language} block with {marker!r}"
    return str(found[0])


def npm_page(api: str, script: str) -> str:
    # The README's npm code as it is, with the ES import swapped for the package's UMD build of the same code
    # (window.AnalyticsNext), which is what a bundler would hand the page
    code = readme_block("js", "cdnURL")
    code = code.replace(
        "import { AnalyticsBrowser } from '@segment/analytics-next'",
        "const { AnalyticsBrowser } = window.AnalyticsNext",
    )
    code = code.replace("export const analytics", "const analytics").replace("YOUR_WRITE_KEY", WRITE_KEY)
    code = code.replace("https://YOUR_API_URL", api)
    return (
        "<!doctype html><html><head><title>Yün kaban</title><link rel='icon' href='data:,'></head><body><h1>Coats</h1>"
        '<script src="/analytics-next/index.js"></script>'
        f"<script>{code}\nwindow.analytics = analytics;\n{script}</script></body></html>"
    )


def snippet_page(api: str, static: str, load_options: dict[str, Any]) -> str:
    snippet = readme_block("html", "analytics._cdn")
    snippet = snippet.replace("https://YOUR_STATIC_HOST", static).replace("https://YOUR_API_URL", api)
    snippet = snippet.replace(
        'analytics.load("YOUR_WRITE_KEY");', f'analytics.load("{WRITE_KEY}", {json.dumps(load_options)});'
    )
    snippet = snippet.replace("YOUR_WRITE_KEY", WRITE_KEY)
    head = "<title>Checkout</title><link rel='icon' href='data:,'>"
    return f"<!doctype html><html><head>{head}{snippet}</head><body><h1>Checkout</h1></body></html>"


def stored_events(runtime: LocalRuntime) -> list[dict[str, Any]]:
    items = runtime.client("dynamodb").scan(TableName=runtime.table_name("EventsTable"))["Items"]
    return [json.loads(item["event"]["S"]) for item in items if item["pk"]["S"].startswith("EVENT#")]


def wait_for_events(runtime: LocalRuntime, count: int, seconds: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        events = stored_events(runtime)
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def browser_value(driver: WebDriver, expression: str, seconds: float = 60) -> Any:
    """Wait (bounded) until ``expression`` is truthy in the page and return it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(f"try {{ return {expression}; }} catch (e) {{ return null; }}")
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"the page never had {expression}")


def test_analytics_js_calls_land_in_capture_and_resolve_to_one_profile(
    runtime: LocalRuntime, page_server: PageServer
) -> None:
    run = uuid.uuid4().hex[:8]
    api, static = runtime.base_url, page_server.url
    user_id, email = f"cust-js-{run}", f"elif.demir+{run}@ornek.com.tr"
    # Given a product page with the README's npm code, and a checkout page with the README's snippet (batching on)
    page_server.pages["/coat.html"] = lambda: npm_page(
        api,
        "window.done = (async () => {"
        "  await analytics.page('Yün kaban', {category: 'coats'});"
        "  await analytics.track('Product Viewed', {product_id: 'SKU-KABAN-38', price: 2499.9, currency: 'TRY'});"
        f"  await analytics.alias('{user_id}');"  # this browser's anonymous id becomes the customer's
        f"  await analytics.identify('{user_id}', {{email: '{email}', phone: '+90 533 765 43 21'}});"
        "  const [instance] = await analytics;"
        "  return {anonymousId: instance.user().anonymousId(), userId: instance.user().id()};"
        "})();"
        "window.done.then((value) => { window.result = value; });",
    )
    page_server.pages["/checkout.html"] = lambda: (
        snippet_page(api, static, BATCHING)
        + (
            "<script>analytics.track('Product Added', {product_id: 'SKU-KABAN-38', quantity: 1});"
            "analytics.track('Checkout Started', {currency: 'TRY', value: 2499.9});"
            "analytics.ready(() => { window.loaded = true; });</script>"
        )
    )
    with headless_chromium(logging={"performance": "ALL"}) as driver:
        # When the visitor views the coat, then signs in
        driver.get(f"{static}/coat.html")
        who = browser_value(driver, "window.result")
        on_product_page = requests_sent(driver)
        # ... and goes on to the checkout (the snippet's page() and two tracks: one batch of three)
        driver.get(f"{static}/checkout.html")
        browser_value(driver, "window.loaded")
        events = wait_for_events(runtime, 7)
        on_checkout = requests_sent(driver)
        page_errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[no-untyped-call]

    # Then analytics.js asked the API for its settings on each page, then posted each call to it, each after a
    # CORS preflight (it sends the write key as Basic auth too, a header that needs one)
    def api_calls(sent: list[dict[str, Any]], method: str) -> list[str]:
        return [urlsplit(r["url"]).path for r in sent if r["url"].startswith(api) and r["method"] == method]

    settings = f"/v1/projects/{WRITE_KEY}/settings"
    assert api_calls(on_product_page, "GET") == api_calls(on_checkout, "GET") == [settings]
    assert api_calls(on_product_page, "POST") == ["/v1/p", "/v1/t", "/v1/a", "/v1/i"]
    assert api_calls(on_checkout, "POST") == ["/v1/b"]
    for sent in (on_product_page, on_checkout):
        assert sorted(api_calls(sent, "OPTIONS")) == sorted(api_calls(sent, "POST"))
    # ... as text/plain with the write key in the body (no preflight needed)
    posts = [r for r in on_product_page + on_checkout if r["method"] == "POST"]
    assert {r["headers"].get("Content-Type") for r in posts} == {"text/plain"}
    assert {json.loads(r["postData"])["writeKey"] for r in posts} == {WRITE_KEY}
    assert {r["headers"].get("Authorization") for r in posts} == {"Basic ZGV2LXdlYi1rZXk6"}  # dev-web-key:
    assert [len(json.loads(r["postData"])["batch"]) for r in posts if r["url"].endswith("/v1/b")] == [3]
    # ... and nothing went anywhere else (no CDN, no telemetry)
    elsewhere = [r["url"] for r in on_product_page + on_checkout if not r["url"].startswith((api, static))]
    assert elsewhere == []
    assert page_errors == []

    # Then all seven calls are in capture, on the web channel, each once
    assert sorted((e["type"], e.get("name") or "") for e in events) == sorted(
        [
            ("page", "Yün kaban"),
            ("track", "Product Viewed"),
            ("alias", ""),
            ("identify", ""),
            ("page", ""),
            ("track", "Product Added"),
            ("track", "Checkout Started"),
        ]
    )
    assert {e["channel"] for e in events} == {"web"}
    assert len({e["event_id"] for e in events}) == 7
    # When the functions behind the bus have run
    for _ in range(5):
        runtime.drain(timeout=60)
    # Then an agent finds one customer by the e-mail, holding the browser's anonymous id, and every call
    agent = {"Authorization": f"Bearer {runtime.token('agent')}"}
    found = runtime.request("GET", "/profiles", query={"email": email}, headers=agent)
    assert found.status == 200, found.body
    profile = found.json()
    assert profile["identifiers"]["user_id"] == [user_id] == [who["userId"]]
    assert who["anonymousId"] in profile["identifiers"]["anonymous_id"]
    assert profile["identifiers"]["phone"] == ["+905337654321"]
    timeline = runtime.request("GET", f"/profiles/{profile['profile_id']}/timeline", headers=agent).json()
    assert {e["event_id"] for e in timeline["events"]} == {e["event_id"] for e in events}


def test_an_unknown_write_key_sends_nothing(runtime: LocalRuntime, page_server: PageServer) -> None:
    # Given the README's npm code with a write key the API does not know
    page_server.pages["/x.html"] = lambda: (
        npm_page(runtime.base_url, "").replace(WRITE_KEY, "no-such-key")
        + (
            "<script>analytics.track('Product Viewed').catch(() => null);"
            "analytics.catch((error) => { window.failed = String(error); });</script>"
        )
    )
    with headless_chromium(logging={"performance": "ALL"}) as driver:
        driver.get(f"{page_server.url}/x.html")
        failure = browser_value(driver, "window.failed")
        sent = requests_sent(driver)
    # Then analytics.js got the settings' 404, gave up loading and posted nothing
    assert "no such write key" in failure
    calls = [(r["method"], urlsplit(r["url"]).path) for r in sent if r["url"].startswith(runtime.base_url)]
    assert calls == [("GET", "/v1/projects/no-such-key/settings")]
    assert stored_events(runtime) == []


def test_the_api_lets_a_retried_call_through_cors(runtime: LocalRuntime) -> None:
    # analytics.js adds X-Retry-Count when it sends a call again (after a 5xx or a lost connection): the
    # preflight of a retry must allow it, or every retry would fail in the browser
    response = runtime.request(
        "OPTIONS",
        "/v1/t",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-retry-count",
        },
    )
    allowed = {name.strip() for name in (response.headers.get("access-control-allow-headers", "")).split(",")}
    assert {"authorization", "content-type", "x-retry-count"} <= allowed
    assert response.headers.get("access-control-allow-origin") in ("*", "https://shop.example")
