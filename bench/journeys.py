"""Journeys benchmark: what a journey step and a wait cost, with 1,000 and with 100,000 customers in the journey.

    .venv/bin/python bench/journeys.py [--populations 1000,100000] [--cohort 50]

For each population, the journeys table (moto, created from template.yaml) holds that many customers waiting in
the post-visit NPS journey (their wait ends in ten days). Then a cohort of fresh customers (with profiles in the
profiles table) goes through the journey with the real service, stores and engine: the store visit (entry and
the start of the one-day wait), the sweep that ends the wait and sends the question, the WhatsApp reply that
answers it (Survey Answered, a detractor's call task). Printed per customer and step: DynamoDB requests (counted
at the boto3 client with botocore's event hooks, so exact), PutEvents calls and Lambda invocations (one per bus
event; one per sweep, shared by every customer it wakes). The counts must not depend on the population: the
script exits non-zero when they do.

The cost of a wait is then set beside EventBridge Scheduler's (one schedule per wait, one Lambda invocation per
wake-up), with list prices as parameters.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import _paths  # type: ignore[import-not-found]  # noqa: F401 - sys.path as on Lambda
import boto3
from moto import mock_aws

from journeys.dal import items as shapes
from journeys.dal.definition_files import definitions_folder, load_folder
from journeys.dal.dynamodb_store import DynamoDBJourneyStore
from journeys.dal.profile_reader import ProfileReader
from journeys.logic.engine import Engine, Policy
from journeys.logic.holdout import held_out
from journeys.logic.registry import Registry
from journeys.logic.service import JourneyService
from journeys.models.state import Group, Run, RunStatus
from local_runtime.moto_patches import patched_moto, stop_tracking_instances
from omnichannel.canonical_event import CAPTURE_SOURCE, utc_iso
from omnichannel.event_bus import InMemoryPublisher
from tests.support.journey_memory import envelope
from tests.support.moto_tables import create_table, table_properties

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul
JOURNEYS, PROFILES = "journeys", "profiles"
# List prices (USD, us-east-1 and eu-west-1, on-demand; edit for your region): per million.
PRICE_WRITE_UNIT = 0.625
PRICE_READ_UNIT = 0.125
PRICE_LAMBDA_REQUEST = 0.20
PRICE_SCHEDULER_INVOCATION = 1.00
SWEEPS_PER_DAY = 24 * 60


class Requests:
    """DynamoDB requests by operation, counted at the client."""

    def __init__(self, client: Any) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> collections.Counter[str]:
        taken, self.calls = self.calls, collections.Counter()
        return taken


class CountingPublisher(InMemoryPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def publish(self, events: Any) -> Any:
        result = super().publish(events)
        self.calls += result.calls
        return result


def populate(client: Any, customers: int) -> float:
    """``customers`` runs waiting in the post-visit NPS journey until ten days from now (BatchWriteItem)."""
    started = time.perf_counter()
    due = utc_iso(T0 + timedelta(days=10))
    batch: list[dict[str, Any]] = []
    for n in range(customers):
        run = Run(f"pop-{n:06d}", "post_visit_nps", 1, 1, Group.TREATMENT, RunStatus.ACTIVE, utc_iso(T0),
                  step="next_day", seq=1, due_at=due, goal_until=utc_iso(T0 + timedelta(days=30)))  # fmt: skip
        batch.append({"PutRequest": {"Item": shapes.run_item(run)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={JOURNEYS: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={JOURNEYS: batch})
    return time.perf_counter() - started


def add_profile(client: Any, n: int) -> tuple[str, str]:
    """A profile with a WhatsApp number and consent, in the journey's treatment group (the holdout gets no steps)."""
    suffix = next(s for s in range(100) if not held_out("post_visit_nps", f"bench-{n:04d}-{s}", 0.05))
    profile_id, wa = f"bench-{n:04d}-{suffix}", f"9053200{n:05d}"
    identifiers = {"user_id": f"u-{n}", "whatsapp": wa, "phone": f"+{wa}"}
    traits = {"first_name": {"v": json.dumps("Ayşe"), "at": utc_iso(T0)},
              "consent": {"v": json.dumps({"whatsapp": True}), "at": utc_iso(T0)}}  # fmt: skip
    client.put_item(
        TableName=PROFILES,
        Item={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "PROFILE"}, "traits": {"S": json.dumps(traits)},
              "identifiers": {"M": {k: {"L": [{"S": v}]} for k, v in identifiers.items()}}},
    )  # fmt: skip
    for kind, value in identifiers.items():
        client.put_item(
            TableName=PROFILES,
            Item={"pk": {"S": f"ID#{kind}#{value}"}, "sk": {"S": "ID"}, "profile_id": {"S": profile_id}},
        )
    return f"u-{n}", wa


def captured(name: str, channel: str, identifiers: dict[str, str], at: datetime, **properties: Any) -> dict[str, Any]:
    detail = {"event_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4()), "source": "bench", "type": "track",
              "name": name, "channel": channel, "identifiers": identifiers, "occurred_at": utc_iso(at),
              "received_at": utc_iso(at), "properties": properties}  # fmt: skip
    return envelope(CAPTURE_SOURCE, name, detail)


def measure(population: int, cohort: int) -> dict[str, Any]:
    # The local runtime's moto changes: a transaction backs up the items it touches, not the whole table (stock
    # moto deep-copies 100,000 items per transaction), and no dead model instances are kept.
    with mock_aws(), patched_moto():
        stop_tracking_instances()
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, JOURNEYS, table_properties("JourneysTable"))
        create_table(client, PROFILES, table_properties("ProfilesTable"))
        filled = populate(client, population)
        people = [add_profile(client, n) for n in range(cohort)]
        requests = Requests(client)
        publisher = CountingPublisher()
        clock = [T0]
        definitions = [d for d in load_folder(definitions_folder()) if d.id == "post_visit_nps"]
        engine = Engine(Registry.of(definitions), Policy(survey_link_base_url="https://api", survey_link_key=b"k"))
        service = JourneyService(engine, DynamoDBJourneyStore(client, JOURNEYS), ProfileReader(client, PROFILES),
                                 publisher, lambda: clock[0])  # fmt: skip
        steps: dict[str, dict[str, Any]] = {}

        def step(name: str, invocations: int, run: Any) -> None:
            requests.take()
            publisher.calls = 0
            started = time.perf_counter()
            run()
            steps[name] = {"requests": requests.take(), "put_events": publisher.calls, "invocations": invocations,
                           "seconds": time.perf_counter() - started}  # fmt: skip

        def visits() -> None:
            for user_id, _ in people:
                service.handle([captured("Store Visited", "store", {"user_id": user_id}, clock[0], store_id="S1")])

        step("entry: a store visit (the one-day wait begins)", cohort, visits)
        clock[0] = T0 + timedelta(days=1, minutes=1)
        step("the wait ends: one sweep, the question is sent", 1, lambda: service.sweep(limit=10_000))
        clock[0] += timedelta(hours=1)

        def replies() -> None:
            for _, wa in people:
                service.handle([captured("Message Received", "whatsapp", {"whatsapp": wa, "phone": f"+{wa}"},
                                         clock[0], text="3")])  # fmt: skip

        step("a reply '3': NPS answer and a call task", cohort, replies)
        clock[0] += timedelta(minutes=3)
        step("an idle sweep (nothing due)", 1, lambda: service.sweep(limit=10_000))
        sent = sum(1 for e in publisher.events if e.detail_type == "message.requested")
        tasks = sum(1 for e in publisher.events if e.detail_type == "agent_task.requested")
        if (sent, tasks) != (cohort, cohort):
            raise RuntimeError(f"expected {cohort} questions and tasks, got {sent} and {tasks}")
        return {"population": population, "cohort": cohort, "fill_seconds": filled, "steps": steps}


def per_customer(counter: collections.Counter[str], cohort: int, shared: bool) -> str:
    if shared:
        return ", ".join(f"{op} {n}" for op, n in sorted(counter.items()))
    return ", ".join(f"{op} {n / cohort:g}" for op, n in sorted(counter.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--populations", default="1000,100000")
    parser.add_argument("--cohort", type=int, default=50)
    args = parser.parse_args(argv)
    results = [measure(int(size), args.cohort) for size in args.populations.split(",")]
    for result in results:
        print(f"\n== {result['population']:,} customers in the journey (filled in {result['fill_seconds']:.0f} s);"
              f" {result['cohort']} more go through it")  # fmt: skip
        for name, figures in result["steps"].items():
            shared = "sweep" in name
            unit = "per sweep" if shared else "per customer"
            total = sum(figures["requests"].values())
            print(f"  {name}: DynamoDB {total if shared else total / result['cohort']:g} {unit} "
                  f"({per_customer(figures['requests'], result['cohort'], shared)}); PutEvents calls "
                  f"{figures['put_events']} in all; Lambda invocations {figures['invocations']}")  # fmt: skip
    shapes_differ = len({json.dumps({k: dict(v["requests"]) for k, v in r["steps"].items()}, sort_keys=True)
                         for r in results}) > 1  # fmt: skip
    cohort = results[0]["cohort"]
    wake = results[0]["steps"]["the wait ends: one sweep, the question is sent"]["requests"]
    queries = 8  # one Query per due-index shard per sweep
    per_wake = (sum(wake.values()) - queries) / cohort
    print("\n== the cost of a wait (beside EventBridge Scheduler: one schedule per wait)")
    print(f"  due-index sweep: {queries} Queries a minute whatever is waiting ({queries * SWEEPS_PER_DAY:,} a day) and "
          f"{SWEEPS_PER_DAY:,} Lambda invocations a day, each waking every customer due; per wait 2 index writes "
          f"(into the sparse index, out of it)")  # fmt: skip
    print(
        f"  either way, per wake-up: {per_wake:g} DynamoDB requests (the customer's read and transaction, the "
        f"profile, marking the message announced); Scheduler adds a schedule invocation and a Lambda invocation "
        f"per wait, and a schedule to create, and to delete when the customer leaves early (STOP, goal, erasure)"
    )
    sweep_day = SWEEPS_PER_DAY * (PRICE_LAMBDA_REQUEST + queries * 0.5 * PRICE_READ_UNIT) / 1e6
    for waits in (1_000, 100_000, 1_000_000):
        sweep = sweep_day + waits * 2 * PRICE_WRITE_UNIT / 1e6
        scheduler = waits * (PRICE_SCHEDULER_INVOCATION + PRICE_LAMBDA_REQUEST) / 1e6
        print(
            f"  {waits:>9,} waits a day: sweep ${sweep:.4f} (${sweep_day:.4f} fixed + index writes) vs "
            f"Scheduler ${scheduler:.4f} a day"
        )
    if shapes_differ:
        print("\nFAIL: the requests per step differ between populations", file=sys.stderr)
        return 1
    print("\nrequests per step are the same for every population: a step reads and writes only its own customer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
