"""A survey link a journey writes opens on the local runtime: the HTTP API's AWS origin (``API_BASE_URL``, the
links' origin while ``PublicBaseUrl`` is empty) is the runtime's own address locally, so the link printed in an
e-mail opens in a browser and answers the question."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from html import unescape
from urllib.parse import urljoin

import pytest

from tests.journeys.harness import JourneyHarness


@pytest.fixture
def served() -> Iterator[JourneyHarness]:
    with JourneyHarness.start(http_port=0) as harness:
        yield harness


def _open(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - the local runtime's own address
        return answer.status, answer.read().decode()


def test_a_survey_link_in_an_email_opens_on_the_local_runtime_and_answers(served: JourneyHarness) -> None:
    # Given a customer reachable by e-mail only, asked the day after a store visit
    deniz = served.customer("deniz", email="deniz@eposta.com.tr", consent={"email": True})
    served.track(deniz, "Store Visited", channel="store", properties={"store_id": "IST-MODA"})
    served.advance(days=1)
    [question] = served.messages(deniz)
    assert question.text is not None
    link = question.text.rsplit(" ", 1)[-1]

    # Then the link is on this runtime's address (not an execute-api origin that does not exist locally)
    assert link.startswith(served.rt.base_url + "/journeys/surveys/answer?token=")

    # When it is opened over HTTP, the scale shows; its 9 answers the question
    status, page = _open(link)
    assert status == 200
    nine = next(unescape(href) for href in re.findall(r'href="([^"]+)"', page) if "score=9" in href)
    status, thanks = _open(urljoin(link, nine))
    assert status == 200
    assert "Thank you! Your answer was recorded." in thanks
    served.settle()
    run = served.run(deniz, "post_visit_nps")
    assert run is not None
    assert [(answer["score"], answer["via"]) for answer in run["answers"]] == [(9, "link")]
