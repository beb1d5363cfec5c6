"""`python -m local_runtime`: serve prints where it listens and stops cleanly; openapi writes the document."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from local_runtime.__main__ import main
from tests.local_runtime.support import CONFIG, TEMPLATE

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")


@contextmanager
def _serve(*extra: str) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    env = {key: value for key, value in os.environ.items() if key not in ("PORT", "MOTO_PORT")}
    command = [sys.executable, "-m", "local_runtime", "serve", "--template", str(TEMPLATE), "--config", str(CONFIG)]
    process = subprocess.Popen(  # noqa: S603 - our own module
        [*command, *extra], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # end of output

    threading.Thread(target=read, daemon=True).start()
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _until(lines: queue.Queue[str], pattern: re.Pattern[str], timeout: float = 30) -> tuple[list[str], re.Match[str]]:
    seen: list[str] = []
    while True:
        line = lines.get(timeout=timeout)
        seen.append(line)
        match = pattern.search(line)
        if match:
            return seen, match
        if line == "":
            raise AssertionError("the process ended before: " + pattern.pattern + "\n" + "".join(seen))


def _rest(lines: queue.Queue[str]) -> str:
    text = []
    while (line := lines.get(timeout=30)) != "":
        text.append(line)
    return "".join(text)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_prints_where_it_listens_serves_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    # Given `python -m local_runtime serve` on free ports with the fixture template
    with _serve("--port", "0", "--moto-port", "0") as (process, lines):
        # When it says it is listening
        banner, match = _until(lines, LISTENING)
        text = "".join(banner)
        # Then it printed the real port, moto's URL, every route with its function, the write key and the token hint
        assert match.group(2) != "0"
        assert re.search(r"moto\s+http://127\.0\.0\.1:\d+", text)
        assert re.search(r"POST /v1/track\s+→ EchoFunction", text)
        assert re.search(r"GET /me\s+→ EchoFunction\s+\[JWT DevJwt\]", text)
        assert "fixture-key" in text
        assert "make token" in text
        # And it answers on that port
        assert requests.get(match.group(1) + "/items/3", timeout=10).status_code == 200
        # When it gets the signal
        process.send_signal(stop_signal)
        process.wait(timeout=20)
        rest = _rest(lines)
    # Then it shut down cleanly: exit code 0, no traceback
    assert process.returncode == 0, rest
    assert "Traceback" not in text + rest
    assert "stopped" in rest


def test_serve_stops_on_a_burst_of_ctrl_c_while_it_sums_up_deliveries() -> None:
    # Given serve with its summary thread waiting on the same stop as the main loop (the default, not --verbose)
    with _serve("--port", "0", "--moto-port", "0") as (process, lines):
        _until(lines, LISTENING)
        # When Ctrl-C is pressed again and again (each press runs the handler inside whatever the main thread
        # is doing; the handler only records it, see serve())
        for _ in range(20):
            process.send_signal(signal.SIGINT)
            time.sleep(0.01)
        process.wait(timeout=30)
        rest = _rest(lines)
    # Then it stopped once, cleanly
    assert process.returncode == 0, rest
    assert rest.count("stopping…") == 1
    assert "Traceback" not in rest


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
def test_serve_shows_a_functions_warnings_as_one_line_and_its_json_only_when_verbose(verbose: bool) -> None:
    # Given serve, and a function that logs INFO and WARNING with Powertools and adds 101 metrics
    with _serve("--port", "0", "--moto-port", "0", *(["--verbose"] if verbose else [])) as (process, lines):
        _, match = _until(lines, LISTENING)
        # When it is called
        assert requests.get(match.group(1) + "/chatty", timeout=30).json() == {"chatty": True}
        if verbose:
            shown, _ = _until(lines, re.compile(r'"_aws"'))
        else:
            shown, _ = _until(lines, re.compile(r"echo WARNING a warning worth a line"))
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        text = "".join(shown) + _rest(lines)
    assert process.returncode == 0, text
    if verbose:
        # Then --verbose prints the raw JSON records and the metric blob, as CloudWatch would get them
        assert '"message":"an info line nobody needs on a terminal"' in text
        assert '"_aws"' in text
    else:
        # Then without it, the warning is one readable line and nothing else the function printed shows
        assert re.search(r"\d\d:\d\d:\d\d echo WARNING a warning worth a line \(item=42\)", text)
        assert "an info line" not in text
        assert '"level"' not in text
        assert '"_aws"' not in text
    assert "Traceback" not in text


def test_serve_on_a_busy_port_says_so_and_exits_1() -> None:
    # Given a port that is already taken
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # When serve is asked to use it for moto
        with _serve("--port", "0", "--moto-port", str(port)) as (process, lines):
            process.wait(timeout=30)
            output = _rest(lines)
    # Then it explains instead of hanging or printing a traceback
    assert process.returncode == 1
    assert f"127.0.0.1:{port} is already in use (set MOTO_PORT" in output
    assert "Traceback" not in output


def test_openapi_writes_the_document_generated_by_the_functions_resolver(tmp_path: Path) -> None:
    # Given a function whose handler module defines a Powertools resolver `app`
    out = tmp_path / "docs" / "openapi.json"
    # When `python -m local_runtime openapi` runs for it
    code = main(
        [
            "openapi",
            "--template",
            str(TEMPLATE),
            "--config",
            str(CONFIG),
            "--function",
            "ApiAppFunction",
            "--out",
            str(out),
        ]
    )
    # Then the generated OpenAPI document is written, pretty-printed
    assert code == 0
    document = json.loads(out.read_text())
    assert document["openapi"].startswith("3.")
    assert "/hello/{name}" in document["paths"]
    assert out.read_text().startswith('{\n  "openapi"')
