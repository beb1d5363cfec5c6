"""Local runtime benchmark: memory and time to fill the console's demo dataset, with moto as it ships ("stock")
beside the runtime's two moto changes (``local_runtime/moto_patches.py``: no instance tracking, transactions
backed up item by item instead of table by table).

    .venv/bin/python bench/local_runtime.py [--customers 30]

Each variant runs in its own process (resident memory is never given back to the OS, so one process cannot
measure two). Figures are ratios measured side by side in one run; absolute times on a shared machine drift.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda, a quiet offline environment

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("stock", "patched")


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def fill(variant: str, customers: int) -> dict[str, float]:
    """Start the runtime in-process, send the demo dataset through its API, deliver every hop; the figures."""
    from moto.dynamodb.models.dynamo_type import Item

    import local_runtime.runtime as runtime_module
    from local_runtime import demo_data
    from local_runtime.runtime import LocalRuntime

    if variant == "stock":

        @contextlib.contextmanager
        def unchanged() -> Iterator[None]:
            yield

        setattr(runtime_module, "patched_moto", unchanged)  # noqa: B010 - the runtime's module, as it was
        setattr(runtime_module, "stop_tracking_instances", lambda: None)  # noqa: B010
    start_rss = _rss_mib()
    with LocalRuntime.start(ROOT / "template.yaml", mode="inprocess", http_port=None) as rt:
        ready_rss = _rss_mib()

        def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            answer = rt.request(method, path, body=body, headers=headers)
            return answer.status, answer.body.decode()

        began = time.perf_counter()
        data = demo_data.seed(
            send,
            run="bench1",
            now=datetime.now(UTC),
            admin_token=rt.token("admin"),
            meta_app_secret=rt.config["secrets"]["CaptureSecrets"]["meta_app_secret"],
            customers=customers,
        )
        for _ in range(5):  # capture -> profiles -> stream -> kpis, carts, handoff: every hop delivers
            rt.drain(timeout=600)
        seconds = time.perf_counter() - began
        if data.problems:
            raise SystemExit(f"the demo fill was refused: {data.problems}")
        tracked = len(getattr(Item, "instances_tracked", []))
        return {
            "events": data.events,
            "seconds": seconds,
            "rss_ready_mib": ready_rss - start_rss,
            "rss_filled_mib": _rss_mib() - start_rss,
            "items_tracked": tracked,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=30, help="the demo's customers (make dev fills 30)")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # the child process's
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(fill(args.variant, args.customers)))
        return
    results = {}
    for variant in VARIANTS:
        child = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--customers", str(args.customers)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if child.returncode:
            raise SystemExit(f"{variant} failed:\n{child.stderr[-3000:]}")
        results[variant] = json.loads(child.stdout.strip().splitlines()[-1])
    stock, patched = results["stock"], results["patched"]
    print(f"demo fill: {args.customers} customers, {patched['events']} events through the API, every hop delivered\n")
    print(f"{'':34} {'stock moto':>12} {'runtime':>12} {'ratio':>8}")
    for key, label in (
        ("seconds", "time to fill and deliver (s)"),
        ("rss_filled_mib", "memory grown by the fill (MiB)"),
        ("items_tracked", "dead DynamoDB items kept by moto"),
    ):
        ratio = f"{stock[key] / patched[key]:>7.1f}x" if patched[key] else f"{'-':>8}"
        print(f"{label:34} {stock[key]:>12,.1f} {patched[key]:>12,.1f} {ratio}")


if __name__ == "__main__":
    main()
