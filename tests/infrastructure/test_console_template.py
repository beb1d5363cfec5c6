"""The console in template.yaml: a small function serving console/ on GET /console and GET /console/{proxy+} of
the HTTP API, without an authorizer (the files carry no data; the API calls carry the agent's token), with no
table access, in its own section just before the handoff section."""

from __future__ import annotations

import re

from console_site.handlers.site import resolve
from tests.infrastructure.cfn_template import REPO_ROOT, TEMPLATE_PATH, functions, load_template

TEMPLATE = load_template()
CONSOLE = next(function for function in functions(TEMPLATE) if function.logical_id == "ConsoleFunction")


def test_the_console_function_serves_the_console_folder() -> None:
    properties = CONSOLE.properties
    assert properties["CodeUri"] == "console/"
    module, _, handler = properties["Handler"].rpartition(".")
    assert (REPO_ROOT / "console" / (module.replace(".", "/") + ".py")).is_file()
    assert handler == "lambda_handler"


def test_the_console_routes_are_open_reads_on_the_http_api() -> None:
    events = CONSOLE.properties["Events"].values()
    routes = {(event["Properties"]["Method"], event["Properties"]["Path"]) for event in events}
    assert routes == {("GET", "/console"), ("GET", "/console/{proxy+}")}
    for event in events:
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
        assert "Auth" not in event["Properties"]  # no authorizer is the HTTP API's default here


def test_the_console_touches_no_table() -> None:
    assert "Policies" not in CONSOLE.properties
    assert not any("Table" in name for name in CONSOLE.properties.get("Environment", {}).get("Variables", {}))


def test_the_console_section_sits_just_before_the_handoff_section() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    banners = re.findall(r"^  # -{10,} (\w+)$", text, flags=re.MULTILINE)
    assert banners[banners.index("console") + 1] == "handoff"


def test_every_file_the_page_loads_is_served() -> None:
    # Given the scripts and styles index.html and the modules import (absolute /console/ paths or relative)
    index = (REPO_ROOT / "console" / "index.html").read_text(encoding="utf-8")
    wanted = re.findall(r'(?:src|href)="/console/([^"]+)"', index)
    for module in (REPO_ROOT / "console" / "app").glob("*.js"):
        wanted += [f"app/{name}" for name in re.findall(r'from "\./([^"]+)"', module.read_text(encoding="utf-8"))]
    # Then the function serves each of them
    assert len(wanted) >= 6
    missing = [path for path in wanted if resolve(path) is None]
    assert missing == []


def test_no_file_is_fetched_from_another_origin() -> None:
    for path in (REPO_ROOT / "console").rglob("*"):
        if path.suffix in (".html", ".css") or (path.suffix == ".js" and "vendor" not in path.parts):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"""(src|href|url\(|import|fetch\()\s*=?\s*["']?(https?:)?//""", text), path
