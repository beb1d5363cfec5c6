"""A page server of the browser tests' own: the test's pages, and analytics-next's UMD build (the pinned package
of tests/e2e/analytics_js/package-lock.json, installed by ``make`` with ``npm ci``) under ``/analytics-next/``."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ANALYTICS_JS = Path(__file__).resolve().parents[1] / "e2e" / "analytics_js"
DIST = ANALYTICS_JS / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"


def analytics_js_or_fail() -> Path:
    if not (DIST / "standalone.js").is_file():
        pytest.fail(
            f"the analytics.js browser test needs the pinned package in {ANALYTICS_JS / 'node_modules'}: run"
            " `make test` (or `make analytics-js`, which runs `npm ci` there)",
            pytrace=False,
        )
    return DIST


@dataclass
class PageServer:
    """``pages[path]`` gives a page's HTML when asked; ``url`` is the server's origin."""

    pages: dict[str, Callable[[], str]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def serving_pages(dist: Path) -> Iterator[PageServer]:
    """A page server on 127.0.0.1 and a free port, until the block ends."""
    pages = PageServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            name = path.rsplit("/", 1)[-1]
            if path in pages.pages:
                body, kind = pages.pages[path]().encode(), "text/html; charset=utf-8"
            elif path.startswith("/analytics-next/") and (dist / name).is_file():
                body, kind = (dist / name).read_bytes(), mimetypes.guess_type(name)[0] or "application/octet-stream"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pages.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield pages
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
