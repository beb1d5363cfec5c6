"""CLV benchmark: fit time on CDNOW, pure-Python scoring per customer, import cost of the scorer beside scipy.

    .venv/bin/python bench/clv.py [--rounds 5] [--cold-runs 11]

Figures are ratios measured side by side in one run; absolute times on a shared machine drift.
"""

from __future__ import annotations

import argparse
import csv
import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda, a quiet offline environment

ROOT = Path(__file__).resolve().parents[1]
KPIS = ROOT / "functions" / "kpis"
sys.path.insert(0, str(KPIS))

from kpis.clv.fit import fit_bgnbd, fit_gamma_gamma  # noqa: E402 - after the path above
from kpis.clv.prediction import expected_purchases, predicted_clv, probability_alive  # noqa: E402

CDNOW = ROOT / "tests" / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


def load() -> dict[str, list[float]]:
    with CDNOW.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in ("x", "t_x", "T", "zbar")}


def best_of(rounds: int, action: Callable[[], Any]) -> float:
    timings = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def fit_and_score(rounds: int) -> None:
    data = load()
    customers = list(zip(data["x"], data["t_x"], data["T"], data["zbar"], strict=True))
    start = time.perf_counter()
    bg = fit_bgnbd(data["x"], data["t_x"], data["T"])  # the first fit also imports numpy and scipy
    first_fit = time.perf_counter() - start
    gg = fit_gamma_gamma(data["x"], data["zbar"])
    bg_time = best_of(rounds, lambda: fit_bgnbd(data["x"], data["t_x"], data["T"]))
    gg_time = best_of(rounds, lambda: fit_gamma_gamma(data["x"], data["zbar"]))
    print(f"Fit on the CDNOW sample ({len(customers)} customers, 946 repeat), best of {rounds}:")
    print(f"  BG/NBD         {bg_time * 1000:8.1f} ms   r={bg.r:.4f} alpha={bg.alpha:.4f} a={bg.a:.4f} b={bg.b:.4f}")
    print(f"  Gamma-Gamma    {gg_time * 1000:8.1f} ms   p={gg.p:.4f} q={gg.q:.4f} gamma={gg.gamma:.4f}")
    print(f"  first BG/NBD fit, numpy and scipy imports included: {first_fit * 1000:.1f} ms")

    def alive() -> None:
        for x, t_x, age, _ in customers:
            probability_alive(bg, x, t_x, age)

    def purchases() -> None:
        for x, t_x, age, _ in customers:
            expected_purchases(bg, 39.0, x, t_x, age)

    def clv() -> None:
        for x, t_x, age, spend in customers:
            predicted_clv(bg, gg, x, t_x, age, spend, 365, 0.10)

    count = len(customers)
    print(f"\nPure-Python scoring, every CDNOW customer, best of {rounds}, per customer:")
    alive_time = best_of(rounds, alive) / count
    purchases_time = best_of(rounds, purchases) / count
    clv_time = best_of(rounds, clv) / count
    print(f"  probability_alive                                         {alive_time * 1e6:8.1f} µs")
    print(f"  expected_purchases (39 weeks, one 2F1)                    {purchases_time * 1e6:8.1f} µs")
    print(f"  predicted_clv (365 days weekly, 10%/year: 53 x E[Y(t)])   {clv_time * 1e6:8.1f} µs")
    print(f"  ratio predicted_clv / expected_purchases: {clv_time / purchases_time:.1f}")


IMPORT = """
import sys, time
sys.path.insert(0, {path!r})
t = time.perf_counter()
import {module}
print(time.perf_counter() - t)
"""


def import_cost(runs: int) -> None:
    codes = {
        "kpis.clv.prediction": IMPORT.format(path=str(KPIS), module="kpis.clv.prediction"),
        "scipy.special": IMPORT.format(path=str(KPIS), module="scipy.special"),
        "dataclasses, decimal": IMPORT.format(path=str(KPIS), module="dataclasses, decimal"),
    }
    for code in codes.values():  # warm the disk cache and the bytecode cache
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    times: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):  # interleaved, so drift hits both alike
        for name, code in codes.items():
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
            times[name].append(float(out.stdout.strip().splitlines()[-1]))
    scorer = statistics.median(times["kpis.clv.prediction"])
    scipy = statistics.median(times["scipy.special"])
    print(f"\nImport in a fresh interpreter, median of {runs}:")
    print(f"  import kpis.clv.prediction {scorer * 1000:7.2f} ms")
    print(f"  import scipy.special      {scipy * 1000:7.2f} ms")
    floor = statistics.median(times["dataclasses, decimal"])
    print(
        f"  import dataclasses, decimal (the stdlib the scorer needs; any pydantic handler loads them anyway) "
        f"{floor * 1000:7.2f} ms"
    )
    print(
        f"  ratio scipy.special / kpis.clv.prediction: {scipy / scorer:.0f}; "
        f"beyond the stdlib floor: {(scipy - floor) / max(scorer - floor, 1e-6):.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=11)
    args = parser.parse_args()
    fit_and_score(args.rounds)
    import_cost(args.cold_runs)


if __name__ == "__main__":
    main()
