"""A journey's ``agent_task.requested`` through the local runtime: handoff opens one task on the customer however
often the request is delivered, the agent context shows it with the journey's reason and what it knew, an agent
marks it done (once; a customer may not), a merge takes it to the surviving profile and an erasure deletes it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from local_runtime.runtime import LocalRuntime
from omnichannel.journey_events import JOURNEYS_SOURCE
from tests.e2e.test_cart_journey import identify, settle
from tests.support.quarantine_runtime import run_batch, runtime

EVENTS = Path(__file__).resolve().parents[3] / "events"


def task_request(profile_id: str, task_id: str, **changes: Any) -> dict[str, Any]:
    sample = json.loads((EVENTS / "journeys" / "agent_task_requested.json").read_text(encoding="utf-8"))["detail"]
    return {**sample, "event_id": str(uuid.uuid4()), "profile_id": profile_id, "task_id": task_id, **changes}


def profile_of(rt: LocalRuntime, user_id: str) -> str:
    agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-1")}
    answer = rt.request("GET", "/profiles", query={"identifier": f"user_id:{user_id}"}, headers=agent)
    assert answer.status == 200, answer.body
    return str(answer.json()["profile_id"])


def context(rt: LocalRuntime, profile_id: str) -> dict[str, Any]:
    agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-1")}
    answer = rt.request("GET", f"/handoff/customers/{profile_id}/context", headers=agent)
    assert answer.status == 200, answer.body
    return dict(answer.json())


def test_a_journeys_call_task_is_opened_once_shown_to_the_agent_and_done_once() -> None:
    with runtime() as rt:
        # Given a customer with a profile
        identify(rt, "cus_task_1", str(uuid.uuid4()))
        settle(rt)
        profile_id = profile_of(rt, "cus_task_1")

        # When the journey's call task reaches handoff twice (at-least-once), beside a low-priority one
        first = task_request(profile_id, "task-call-1")
        again = {**first, "event_id": str(uuid.uuid4())}
        later = task_request(profile_id, "task-low-1", priority="low", kind="follow_up", reason="first_purchase")
        events = [(JOURNEYS_SOURCE, "agent_task.requested", event) for event in (first, again, later)]
        run = run_batch(rt, "HandoffEventsFunction", events)

        # Then nothing was quarantined and the agent's context holds each task once, the urgent one first, with the
        # journey's reason, note and what it knew (the survey answer)
        assert run.quarantined == []
        tasks = context(rt, profile_id)["tasks"]
        assert [task["task_id"] for task in tasks] == ["task-call-1", "task-low-1"]
        call = tasks[0]
        assert (call["kind"], call["reason"], call["priority"], call["journey_id"]) == (
            "call",
            "nps_detractor",
            "high",
            "post_visit_nps",
        )
        assert call["context"]["surveys"][0]["score"] == 3

        # When a customer tries to close it, then an agent does, twice
        customer = {"Authorization": "Bearer " + rt.token("customer", sub="cus_task_1")}
        refused = rt.request("POST", "/handoff/tasks/task-call-1/done", headers=customer, body={"outcome": "x"})
        agent = {"Authorization": "Bearer " + rt.token("agent", sub="agent-7")}
        done = rt.request("POST", "/handoff/tasks/task-call-1/done", headers=agent, body={"outcome": "reached"})
        other = {"Authorization": "Bearer " + rt.token("agent", sub="agent-8")}
        repeat = rt.request("POST", "/handoff/tasks/task-call-1/done", headers=other, body={"outcome": "no_answer"})

        # Then the customer is refused, the first agent's outcome stands, and the context shows only the open task
        assert refused.status == 403
        assert done.status == 200
        assert (done.json()["state"], done.json()["done_by"], done.json()["outcome"]) == ("done", "agent-7", "reached")
        assert repeat.status == 200
        assert (repeat.json()["done_by"], repeat.json()["outcome"]) == ("agent-7", "reached")
        assert [task["task_id"] for task in context(rt, profile_id)["tasks"]] == ["task-low-1"]
        # And a redelivered request does not reopen it
        run_batch(rt, "HandoffEventsFunction", [(JOURNEYS_SOURCE, "agent_task.requested", dict(first))])
        assert [task["task_id"] for task in context(rt, profile_id)["tasks"]] == ["task-low-1"]

        # And an unknown task is 404 naming the path, a malformed body 400 naming the field
        missing = rt.request("POST", "/handoff/tasks/nope/done", headers=agent, body={})
        assert (missing.status, missing.json()["errors"][0]["field"]) == (404, "path.task_id")
        bad = rt.request("POST", "/handoff/tasks/task-low-1/done", headers=agent, body={"outcome": 7, "x": 1})
        assert bad.status == 400
        assert {error["field"] for error in bad.json()["errors"]} == {"outcome", "x"}


def handoff_item(rt: LocalRuntime, task_id: str) -> dict[str, Any] | None:
    found = rt.client("dynamodb").get_item(
        TableName=rt.table_name("HandoffTable"), Key={"pk": {"S": f"TASK#{task_id}"}, "sk": {"S": "TASK"}}
    )
    return dict(found["Item"]) if "Item" in found else None


def test_a_task_follows_a_merge_to_the_surviving_profile() -> None:
    with runtime() as rt:
        # Given a task on a profile that is then merged into another
        request = task_request("profile-merged-away", "t-merge")
        merged = json.loads((EVENTS / "profiles" / "profile_merged.json").read_text(encoding="utf-8"))["detail"]
        merged = {**merged, "event_id": str(uuid.uuid4()), "merged_id": "profile-merged-away", "survivor_id": "p-kept"}

        # When both reach handoff
        run_batch(rt, "HandoffEventsFunction", [(JOURNEYS_SOURCE, "agent_task.requested", request)])
        run_batch(rt, "HandoffEventsFunction", [("omnichannel.profiles", "profile.merged", merged)])

        # Then the task belongs to the survivor: its agent sees it
        moved = handoff_item(rt, "t-merge")
        assert moved is not None
        assert moved["profile_id"]["S"] == "p-kept"


def test_an_erasure_deletes_the_customers_tasks() -> None:
    with runtime() as rt:
        # Given a task on a customer's profile
        identify(rt, "cus_task_2", str(uuid.uuid4()))
        settle(rt)
        profile_id = profile_of(rt, "cus_task_2")
        run_batch(
            rt, "HandoffEventsFunction", [(JOURNEYS_SOURCE, "agent_task.requested", task_request(profile_id, "t-2"))]
        )
        assert [task["task_id"] for task in context(rt, profile_id)["tasks"]] == ["t-2"]

        # When an admin erases the customer
        admin = {"Authorization": "Bearer " + rt.token("admin", sub="admin-1")}
        erased = rt.request("DELETE", f"/profiles/{profile_id}", headers=admin)
        assert erased.status in (200, 202), erased.body
        settle(rt)

        # Then the task is gone from the handoff table
        assert handoff_item(rt, "t-2") is None
