"""History import benchmark: 100,000 historical events (customers with e-mail and phone, anonymous visits before
they sign in, orders in TRY and EUR, refunds) in Segment's JSON Lines, imported with ``python -m history_import``
through the local runtime's HTTP API; then every hop delivered (capture -> profiles -> KPIs, carts, handoff).

    .venv/bin/python bench/import_history.py [--events 100000] [--workers 4]

Prints the import's rows per second and memory (the importer's own process and the runtime's), the same import
again (every row a duplicate: nothing counted twice), the pipeline's time to settle, and the KPIs and profiles the
history produced beside what the file holds. Figures are measured side by side in one run; absolute times on a
shared machine drift.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda, a quiet offline environment

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # the functions' metric lines would drown the figures
EUR_RATE = "36.45"


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def history(count: int, now: datetime, seed: int = 3) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``count`` messages: per customer an anonymous visit, a sign-in (identify with e-mail and phone), more
    visits, orders (70 % TRY, 30 % EUR) and now and then a refund, spread over the last 180 days; and what the
    messages hold (counted on the messages kept, so a customer cut off by ``count`` is counted as far as kept)."""
    rng = random.Random(seed)
    messages: list[dict[str, Any]] = []
    web = {"library": {"name": "analytics.js"}}
    for number in itertools.count():  # visitors, customers and anonymous-only alike
        if len(messages) >= count:
            break
        anonymous = f"hist-anon-{seed}-{number}"
        at = now - timedelta(days=180) + timedelta(seconds=rng.randrange(170 * 86400))
        visits = [
            {"type": "page", "anonymousId": anonymous, "name": rng.choice(["Home", "Coats", "Shoes"]),
             "timestamp": (at + timedelta(minutes=3 * n)).isoformat(), "context": web}
            for n in range(rng.randint(1, 4))
        ]  # fmt: skip
        messages += visits
        if rng.random() < 0.15:  # a visitor who never signs in
            continue
        user = f"hist-{seed}-{number}"
        at += timedelta(minutes=15)
        messages.append(
            {"type": "identify", "userId": user, "anonymousId": anonymous, "timestamp": at.isoformat(),
             "traits": {"email": f"{user}@example.com", "name": f"Customer {number}",
                        "phone": f"+90 532 {number // 10000 % 1000:03d} {number % 10000:04d}"}, "context": web}
        )  # fmt: skip
        for order in range(rng.choice([0, 1, 1, 2, 3, 5])):
            at += timedelta(days=rng.randint(0, 40), minutes=rng.randint(1, 600))
            if at >= now:
                break
            currency = "EUR" if rng.random() < 0.3 else "TRY"
            revenue = Decimal(rng.randint(1000, 400000)) / 100
            messages.append(
                {"type": "page", "userId": user, "anonymousId": anonymous, "name": "Checkout",
                 "timestamp": (at - timedelta(minutes=5)).isoformat(), "context": web}
            )  # fmt: skip
            messages.append(
                {"type": "track", "userId": user, "event": "Order Completed", "timestamp": at.isoformat(),
                 "messageId": f"order-{user}-{order}", "context": {"channel": rng.choice(["web", "app", "store"])},
                 "properties": {"order_id": f"{user}-{order}", "revenue": str(revenue), "currency": currency}}
            )  # fmt: skip
            if rng.random() < 0.05 and at + timedelta(days=3) < now:  # history: nothing in the future
                messages.append(
                    {"type": "track", "userId": user, "event": "Order Refunded",
                     "timestamp": (at + timedelta(days=3)).isoformat(),
                     "properties": {"order_id": f"{user}-{order}", "total": str(revenue), "currency": currency}}
                )  # fmt: skip
    kept = messages[:count]
    return kept, _truth(kept)


def run_import(file: Path, url: str, workers: int) -> tuple[float, float, str]:
    """(seconds, the importer's peak RSS in MiB, its summary line), in its own process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "history_import", str(file), "--url", url, "--no-progress", "--workers", str(workers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"the import failed: {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = (done.stdout.strip() or done.stderr.strip() or "(no output)").splitlines()
    return seconds, max(peak, before) / 1024, lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events imported (rows/s, memory, idempotency)")
    parser.add_argument(
        "--settle",
        type=int,
        default=None,
        help="events imported into a fresh runtime and "
        "delivered through every hop, for the KPIs and profiles they produce (default: all; 0: skip)",
    )
    parser.add_argument("--settle-chunk", type=int, default=10_000, help="events imported, then settled, at a time")
    parser.add_argument(
        "--settle-budget",
        type=float,
        default=3600.0,
        help="seconds of settling after which no "
        "further chunk is imported (the figures are then those of the chunks settled)",
    )
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    messages, truth = history(args.events, now)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "history.jsonl"
        file.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
        print(f"{len(messages):,} historical events ({file.stat().st_size / 2**20:.1f} MiB of JSON Lines): "
              f"{truth['customers']:,} customers who sign in (e-mail and phone), {truth['anonymous']:,} "
              f"visitors who never do, {truth['orders']:,} orders in TRY and EUR")  # fmt: skip
        rate = imports(file, len(messages), args.workers)
        settle_count = len(messages) if args.settle is None else args.settle
        if settle_count:
            settle(messages[:settle_count], now, Path(folder), args.workers, args.settle_chunk, args.settle_budget)
    print(f"\nimport_rows_per_second={rate:.0f}")


def _runtime() -> Any:
    from local_runtime.runtime import LocalRuntime

    return LocalRuntime.start(
        ROOT / "template.yaml",
        mode="inprocess",
        http_port=0,
        parameters={"KpiFxRates": json.dumps({"EUR": EUR_RATE})},
    )


def imports(file: Path, rows: int, workers: int) -> float:
    """The import into a fresh runtime, then again (resumed: nothing left), then resent from the start."""
    start_rss = _rss_mib()
    with _runtime() as rt:
        seconds, importer_mib, summary = run_import(file, rt.base_url, workers)
        rate = rows / seconds
        print(f"\nimport:  {summary}")
        print(f"         {rate:,.0f} rows/s ({seconds:.1f} s, {workers} batches in flight); importer peak RSS "
              f"{importer_mib:.0f} MiB; runtime RSS +{_rss_mib() - start_rss:.0f} MiB")  # fmt: skip
        _, _, resumed = run_import(file, rt.base_url, workers)
        print(f"resume:  {resumed}")
        Path(str(file) + ".import-state.json").unlink()
        again, _, resent = run_import(file, rt.base_url, workers)
        print(f"resend:  {resent} ({rows / again:,.0f} rows/s)")
    return rate


def _truth(messages: list[dict[str, Any]]) -> dict[str, Any]:
    truth: dict[str, Any] = {
        "customers": len({m["userId"] for m in messages if m["type"] == "identify"}),
        "anonymous": len({m["anonymousId"] for m in messages if m.get("anonymousId")})
        - len({m["anonymousId"] for m in messages if m["type"] == "identify"}),
        "orders": sum(1 for m in messages if m.get("event") == "Order Completed"),
        "gross": Counter(),
    }
    for m in messages:
        if m.get("event") == "Order Completed":
            truth["gross"][m["properties"]["currency"]] += Decimal(m["properties"]["revenue"])
    return truth


def settle(
    messages: list[dict[str, Any]], now: datetime, folder: Path, workers: int, chunk: int, budget: float
) -> None:
    """The history through every hop (capture -> profiles -> KPIs, carts, handoff, journeys), ``chunk`` events at
    a time: each chunk imported, then delivered until nothing is left, so whatever the budget allows is a settled
    prefix of the file, compared with that prefix's own truth."""
    print(f"\nsettle:  {len(messages):,} events imported into a fresh runtime {chunk:,} at a time, each chunk "
          f"delivered through every hop before the next (consumers reading their queues in batches)")  # fmt: skip
    settled = 0
    began = time.perf_counter()
    importing = 0.0
    with _runtime() as rt:
        while settled < len(messages) and time.perf_counter() - began < budget:
            part = messages[settled : settled + chunk]
            file = folder / f"settle-{settled}.jsonl"
            file.write_text("".join(json.dumps(m) + "\n" for m in part), encoding="utf-8")
            seconds, _, _ = run_import(file, rt.base_url, workers)
            importing += seconds
            while rt.drain(timeout=7200):  # until a drain delivers nothing: every hop of the chunk is done
                pass
            settled += len(part)
            elapsed = time.perf_counter() - began
            print(f"         {settled:,} of {len(messages):,} settled after {elapsed:,.0f} s "
                  f"({settled / elapsed:,.1f} events/s imported and settled; runtime peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB)", flush=True)  # fmt: skip
        elapsed = time.perf_counter() - began
        whole = "all of them" if settled == len(messages) else f"the first {settled:,} (the budget ran out)"
        print(f"settled: {whole} in {elapsed:,.0f} s ({importing:,.0f} s of it importing): "
              f"{settled / elapsed:,.1f} events/s")  # fmt: skip
        report(rt, now, _truth(messages[:settled]))


def report(rt: Any, now: datetime, truth: dict[str, Any]) -> None:
    token = rt.token("agent", sub="bench")
    start = (now - timedelta(days=200)).date().isoformat()
    asked = time.perf_counter()
    answer = rt.request(
        "GET", "/kpis", headers={"Authorization": f"Bearer {token}"},
        # business days are Istanbul's (UTC+3): past 21:00 UTC the last events belong to the next business day
        query={"start": start, "end": (now + timedelta(days=1)).date().isoformat(), "granularity": "total",
               "distinct": "true"},
    )  # fmt: skip
    took = time.perf_counter() - asked
    body = json.loads(answer.body)
    totals = body["totals"]
    print(f"\nKPIs of the history (GET /kpis, 200 days, all channels: answered in {took:.1f} s):")
    print(f"  orders {totals['orders']} (the file: {truth['orders']}), refunds {totals['refunds']}")
    for code, sums in totals["by_currency"].items():
        print(f"  gross {code} {sums['gross']} (the file: {truth['gross'].get(code, 0)})")
    print(f"  gross in TRY {totals['gross']}, AOV {totals['aov_gross']}, missing rates {totals['missing_rates']}")
    print(f"  new customers {totals['new_customers']}, repeat purchase rate {totals['repeat_purchase_rate']}")
    print(f"  distinct customers {totals['customers']} (exact: {totals['customers_exact']}; the file: "
          f"{truth['customers'] + truth['anonymous']} people)")  # fmt: skip
    print(f"  sessions {totals['sessions']}, conversion {totals['conversion_rate']}")
    lifecycle = json.loads(rt.request("GET", "/kpis/lifecycle", headers={"Authorization": f"Bearer {token}"}).body)
    print(f"  lifecycle census {lifecycle['census']}")
    client = rt.client("dynamodb")
    profiles = 0
    request: dict[str, Any] = {
        "TableName": rt.table_name("ProfilesTable"),
        "FilterExpression": "sk = :p AND attribute_not_exists(merged_into)",
        "ExpressionAttributeValues": {":p": {"S": "PROFILE"}},
        "Select": "COUNT",
    }
    while True:
        page = client.scan(**request)
        profiles += page["Count"]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    print(
        f"profiles: {profiles} (the file: {truth['customers']} who signed in + {truth['anonymous']} anonymous visitors)"
    )
    sample = f"hist-3-{0}@example.com"
    found = rt.request("GET", "/profiles", query={"email": sample}, headers={"Authorization": f"Bearer {token}"})
    if found.status == 200:
        profile = found.json()
        print(f"  e.g. {sample}: identifiers {sorted(profile['identifiers'])}")


if __name__ == "__main__":
    main()
