"""The README's SDK example, run as written against the local runtime (its host swapped for the runtime's port),
and its lookups: the address resolves to the customer the example created."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segment.analytics as analytics

from local_runtime.runtime import LocalRuntime

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(language: str, marker: str) -> str:
    found = [text for text in re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL) if marker in text]
    assert len(found) == 1, f"README.md: expected one ```{language} block with {marker!r}"
    return str(found[0])


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(ROOT / "template.yaml", mode="inprocess", http_port=0) as rt:
        yield rt
    analytics.default_client = None  # the SDK keeps a module-level client: leave none behind


def test_the_sdk_example_creates_a_customer_its_lookups_find(runtime: LocalRuntime) -> None:
    # Given the README's Python example, pointed at this runtime instead of port 3000
    example = block("python", "import segment.analytics as analytics")
    assert 'analytics.host = "http://127.0.0.1:3000"' in example
    # When it runs as written
    exec(example.replace("http://127.0.0.1:3000", runtime.base_url), {})  # noqa: S102 - the README's own code
    for _ in range(4):
        runtime.drain(timeout=60)
    # Then each lookup the README shows finds the one customer it created, with the e-mail and the phone
    agent = {"Authorization": f"Bearer {runtime.token('agent')}"}
    lookups = [line for line in block("bash", "TOKEN=$(make -s token ROLE=agent)").splitlines() if "curl" in line]
    assert len(lookups) == 2
    profiles = []
    for line in lookups:
        url = urlsplit(re.search(r"'(http[^']+)'", line).group(1))  # type: ignore[union-attr]
        found = runtime.request("GET", url.path, query=url.query, headers=agent)
        assert found.status == 200, (line, found.body)
        profiles.append(found.json())
    assert profiles[0]["profile_id"] == profiles[1]["profile_id"]
    assert profiles[0]["identifiers"]["email"] == ["elif.demir@ornek.com.tr"]
    assert profiles[0]["identifiers"]["phone"] == ["+905337654321"]
    assert profiles[0]["identifiers"]["user_id"] == ["cust-42"]
