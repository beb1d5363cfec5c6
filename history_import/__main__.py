"""``python -m history_import FILE``: import past events (Segment JSON Lines or CSV) or marketing spend (CSV).

Against the local runtime by default (``make serve``, http://127.0.0.1:3000, write key ``dev-write-key``); on AWS
give the stack's ``ApiUrl`` output and a write key (and an admin token for spend). Stop it at any time: the next
run goes on after the last batch capture acknowledged; a batch sent twice is counted once (messageIds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

from history_import.importer import (
    SPEND_COLUMNS,
    Checkpoint,
    Outcome,
    Sender,
    Target,
    UnreadableFile,
    count_lines,
    import_events,
    import_spend,
    kind_of,
    local_admin_token,
)

EPILOG = f"""
JSON Lines: one Segment message per line, e.g.
  {{"type": "track", "userId": "cus-1", "event": "Order Completed", "timestamp": "2025-11-03T10:00:00Z",
   "properties": {{"order_id": "A1", "revenue": "100.50", "currency": "TRY"}}}}
CSV: Segment's field names as columns, dotted ones nested, e.g.
  type,userId,anonymousId,event,timestamp,messageId,properties.revenue,properties.currency,traits.email,
  traits.phone,context.channel,context.campaign.name
  (type: identify, track, page, screen, group or alias; empty cells are left out)
Spend CSV (detected by its header): {", ".join(SPEND_COLUMNS)}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m history_import",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="a .jsonl / .ndjson or .csv file")
    parser.add_argument("--url", default=os.environ.get("IMPORT_URL", "http://127.0.0.1:3000"),
                        help="the API's base URL (env IMPORT_URL; default: the local runtime)")  # fmt: skip
    parser.add_argument("--write-key", default=os.environ.get("IMPORT_WRITE_KEY", "dev-write-key"),
                        help="capture's write key (env IMPORT_WRITE_KEY)")  # fmt: skip
    parser.add_argument("--token", default=os.environ.get("IMPORT_TOKEN"),
                        help="an admin token for spend (env IMPORT_TOKEN; a local runtime issues one)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=4, help="batches in flight at once (default 4)")
    parser.add_argument("--state", type=Path, help="the resume file (default: <file>.import-state.json)")
    parser.add_argument("--restart", action="store_true", help="forget the resume file and send everything again")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    try:
        kind = kind_of(args.file)
    except UnreadableFile as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    target = Target(args.url, args.write_key, args.token)
    if kind == "spend" and not target.token:
        target.token = local_admin_token(args.url)
    sender = Sender(target)
    total = max(count_lines(args.file) - (0 if kind == "events-jsonl" else 1), 0)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm  # type: ignore[import-untyped]  # a development dependency: the import runs from a workstation

        bar = tqdm(total=total, unit="row", desc=args.file.name, smoothing=0.1)
    started = time.perf_counter()
    try:
        if kind == "spend":
            outcome = import_spend(args.file, sender, progress=bar.update if bar else None)
        else:
            state = args.state or args.file.with_name(args.file.name + ".import-state.json")
            if args.restart and state.exists():
                state.unlink()
            checkpoint = Checkpoint(state, args.file)
            if bar is not None and checkpoint.done:
                bar.update(max(checkpoint.done - (0 if kind == "events-jsonl" else 1), 0))
            outcome = import_events(args.file, kind, sender, checkpoint, workers=args.workers,
                                    progress=bar.update if bar else None)  # fmt: skip
    except UnreadableFile as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (RuntimeError, requests.RequestException) as error:  # a wrong write key, an API down after the retries
        print(f"error: {error}; the next run goes on after the last batch the API acknowledged", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    report(outcome, time.perf_counter() - started, kind)
    return 1 if outcome.refused_count else 0


def report(outcome: Outcome, seconds: float, kind: str) -> None:
    rate = outcome.read / seconds if seconds else 0.0
    if kind == "spend":
        print(f"{outcome.accepted} spend rows stored ({outcome.read} read) in {seconds:.1f} s")
        return
    print(
        f"{outcome.read} rows read in {seconds:.1f} s ({rate:,.0f} rows/s): {outcome.accepted} accepted, "
        f"{outcome.duplicates} already imported, {outcome.refused_count} refused"
        + (f"; {outcome.skipped} lines done by an earlier run were skipped" if outcome.skipped else "")
    )
    for refusal in outcome.refused[:20]:
        print("  " + refusal, file=sys.stderr)
    if len(outcome.refused) > 20:
        print(f"  ... and {len(outcome.refused) - 20} more", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
