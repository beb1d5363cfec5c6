"""Historical import: orders and marketing spend from CSV into the KPI table, so a retailer starts with its history.

    python -m kpis.importer orders history/orders.csv --table <KpisTableName>
    python -m kpis.importer spend history/spend.csv --table <KpisTableName>

Orders CSV: ``order_id, occurred_at`` (ISO 8601; without an offset, UTC), ``channel``, ``revenue``, ``currency``,
and at least one identifier column (``user_id``, ``email``, ``phone``, ``loyalty_card``, ``pos_customer``,
``anonymous_id``); an optional ``refund`` column (``true``) makes the row an ``Order Refunded``. Spend CSV:
``day, channel, campaign, amount, currency``.

Each order row becomes the canonical event capture would have published (event id: uuid5 of ``import`` and the
order id), rolled up by the same code as the live stream, so importing a file twice changes nothing; a spend row
sent again replaces itself. The table is DynamoDB (``AWS_ENDPOINT_URL`` points at the local runtime's moto);
settings (time zone, reporting currency, FX rates, attribution) come from the same environment variables as the
function's. A progress bar (tqdm) shows the rows; bad rows are listed by line and field, the good ones imported.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from kpis.dal.store import KpiStore
from kpis.logic.dispatch import UncountableEvent, apply
from kpis.logic.money import MoneyError
from kpis.logic.rollup_service import RollupService
from omnichannel.canonical_event import CAPTURE_SOURCE, CanonicalEvent, event_id_for

IDENTIFIER_COLUMNS = ("user_id", "email", "phone", "loyalty_card", "pos_customer", "anonymous_id")


def order_event(row: dict[str, str]) -> CanonicalEvent:
    order_id = (row.get("order_id") or "").strip()
    if not order_id:
        raise UncountableEvent("order_id: missing")
    refund = (row.get("refund") or "").strip().lower() in ("1", "true", "yes")
    message_id = f"{'refund' if refund else 'order'}:{order_id}"
    occurred = datetime.fromisoformat((row.get("occurred_at") or "").strip())
    occurred = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    identifiers = {kind: row[kind].strip() for kind in IDENTIFIER_COLUMNS if (row.get(kind) or "").strip()}
    if not identifiers:
        raise UncountableEvent(f"identifiers: one of {', '.join(IDENTIFIER_COLUMNS)} is needed")
    amount_field = "total" if refund else "revenue"
    return CanonicalEvent(
        event_id=event_id_for("import", message_id),
        message_id=message_id,
        source="import",
        type="track",
        name="Order Refunded" if refund else "Order Completed",
        channel=(row.get("channel") or "store").strip(),
        identifiers=identifiers,
        occurred_at=occurred,
        received_at=occurred,
        properties={
            "order_id": order_id,
            amount_field: (row.get("revenue") or "").strip(),
            "currency": (row.get("currency") or "").strip(),
        },
    )


def import_orders(service: RollupService, rows: Iterable[dict[str, str]]) -> tuple[int, int, list[str]]:
    counted = duplicates = 0
    errors: list[str] = []
    for line, row in enumerate(rows, start=2):
        try:
            event = order_event(row)
            outcome = apply(service, CAPTURE_SOURCE, event.detail_type, event.to_bus_detail())
        except (UncountableEvent, MoneyError, ValueError, ValidationError) as error:
            errors.append(f"line {line}: {error}")
            continue
        counted += outcome == "counted"
        duplicates += outcome == "duplicate"
    return counted, duplicates, errors


def import_spend(service: RollupService, rows: Iterable[dict[str, str]]) -> tuple[int, list[str]]:
    stored = 0
    errors: list[str] = []
    for line, row in enumerate(rows, start=2):
        try:
            day = datetime.fromisoformat(row["day"].strip()).date().isoformat()
            service.record_spend(
                day,
                row["channel"].strip(),
                (row.get("campaign") or "all").strip() or "all",
                row["amount"],
                row["currency"],
            )
        except (KeyError, ValueError) as error:
            errors.append(f"line {line}: {error}")
            continue
        stored += 1
    return stored, errors


def _rows(path: Path, progress: bool) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        total = max(sum(1 for _ in handle) - 1, 0)
        handle.seek(0)
        reader: Iterable[dict[str, str]] = csv.DictReader(handle)
        if progress:
            from tqdm import tqdm  # type: ignore[import-untyped]  # development dependency: the importer runs from a workstation

            reader = tqdm(reader, total=total, unit="row", desc=path.name)
        yield from reader


def _service(table: str) -> RollupService:
    from kpis import wiring
    from kpis.dal.dynamodb_store import DynamoDBKpiStore
    from kpis.settings import get_settings
    from omnichannel import aws_clients

    store: KpiStore = DynamoDBKpiStore(aws_clients.dynamodb(), table)
    wiring.override(store=store)
    return RollupService(store, get_settings().rollup_config(), clock=wiring.now)


def main(argv: list[str] | None = None, service: RollupService | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpis.importer", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["orders", "spend"])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--table", help="the KPI table's name (the stack's KpisTableName output)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if service is None:
        if not args.table:
            parser.error("--table is required")
        service = _service(args.table)
    rows = _rows(args.csv, progress=not args.no_progress)
    if args.kind == "orders":
        counted, duplicates, errors = import_orders(service, rows)
        print(f"{counted} rows imported, {duplicates} already imported, {len(errors)} refused")
    else:
        stored, errors = import_spend(service, rows)
        print(f"{stored} spend rows stored, {len(errors)} refused")
    for error in errors[:50]:
        print("  " + error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
