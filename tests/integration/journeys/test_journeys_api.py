"""The journeys API through the local runtime: staff only (401 without a token, 403 for a customer), answers
naming the field (400, 404), a customer's journeys without their addresses; and the OpenAPI documents are what
the code generates, covering exactly the template's routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from journeys.handlers.api import openapi_document as api_document
from journeys.handlers.survey_link import openapi_document as survey_document
from tests.journeys.harness import JourneyHarness
from tests.support.openapi_docs import assert_in_step, documented_routes, template_routes, valid_document


@pytest.fixture
def journeys() -> Iterator[JourneyHarness]:
    with JourneyHarness.start() as harness:
        yield harness


def test_the_api_is_for_staff_and_names_what_is_wrong(journeys: JourneyHarness) -> None:
    # Given a customer asked a question in the post-visit NPS journey
    ayse = journeys.customer("ayse", whatsapp="905321110030", consent={"whatsapp": True})
    journeys.track(ayse, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    journeys.advance(days=1)
    rt = journeys.rt

    # Then without a token or with a customer's it is refused
    assert rt.request("GET", "/journeys").status == 401
    customer = {"Authorization": "Bearer " + rt.token("customer", sub=ayse.user_id)}
    assert rt.request("GET", f"/journeys/customers/{ayse.profile_id}", headers=customer).status == 403
    # And an unknown journey is a 404 naming the field, a malformed id a 400 naming it
    missing = rt.request("GET", "/journeys/no_such_journey", headers=journeys.headers())
    assert (missing.status, missing.json()["errors"][0]["field"]) == (404, "path.journey_id")
    malformed = rt.request("GET", "/journeys/bad%20id!", headers=journeys.headers())
    assert malformed.status == 400
    assert malformed.json()["errors"][0]["field"] == "path.journey_id"

    # And an agent sees every journey with its trigger, holdout and lift, and the customer's run and messages
    listed = rt.request("GET", "/journeys", headers=journeys.headers()).json()["journeys"]
    by_id = {journey["id"]: journey for journey in listed}
    assert len(by_id) == 6
    assert by_id["post_visit_nps"]["trigger"] == "event Store Visited"
    assert (by_id["post_visit_nps"]["holdout"], by_id["post_visit_nps"]["entered"]) == (0.05, 1)
    assert by_id["high_value_first_order_call"]["trigger"] == "lifecycle to experimentation"
    mine = journeys.journeys_of(ayse)
    assert [(run["journey_id"], run["step"], run["survey_open"]) for run in mine["journeys"]] == [
        ("post_visit_nps", "ask_nps", True)
    ]
    # And the run says since when it is at its step (the day's wait ended then) and that it is not held out
    [run] = mine["journeys"]
    assert (run["group"], run["held_out"], run["status"]) == ("treatment", False, "active")
    entered = datetime.fromisoformat(run["entered_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(run["step_since"].replace("Z", "+00:00")) == entered + timedelta(days=1)
    [sent] = mine["sent"]
    # (this runtime serves no socket, so the development config's WhatsAppApiBaseUrl, "{runtime}/_local/sink/...",
    # names no address: outbound fails the message for good and the customer's view says so;
    # tests/local_runtime/test_sink.py sends through the runtime's sink, test_journey_delivery_state.py a fake API)
    assert (sent["kind"], sent["channel"], sent["announced"], sent["status"], sent["delivery_error"]) == (
        "message",
        "whatsapp",
        True,
        "failed",
        "Config",
    )
    assert (sent["step_id"], sent["at"]) == ("ask_nps", run["step_since"])
    assert "905321110030" not in json.dumps(mine)  # never the address


def test_the_openapi_documents_are_generated_and_cover_the_templates_routes() -> None:
    assert_in_step("openapi-journeys.json", api_document)
    assert_in_step("openapi-journeys-surveys.json", survey_document)
    assert documented_routes(valid_document("openapi-journeys.json")) == template_routes("JourneysApiFunction")
    surveys = valid_document("openapi-journeys-surveys.json")
    assert documented_routes(surveys) == template_routes("JourneysSurveyFunction")
