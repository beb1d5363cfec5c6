"""Survey answers from a signed link (no login: the link's signature is the permission). ``GET`` with ``score`` is
the one-click answer of an e-mail (a small thank-you page); ``GET`` without it shows the scale as links;
``POST`` takes ``{"token", "score"}`` from a form or an app. A link answers its own question once: the first
answer stands, a later click says so."""

from __future__ import annotations

import html
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from journeys import wiring
from journeys.logic import surveys
from journeys.models.api import SurveyAnswerBody, SurveyAnswerResult
from omnichannel.http_api import ErrorBody

router = Router()
_PAGE: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}


def _page_doc(description: str) -> Any:
    return {"description": description, "content": _PAGE}


MESSAGES = {
    "answered": "Thank you! Your answer was recorded.",
    "already_answered": "Thank you, we already have your answer.",
    "closed": "This survey is closed. Thank you all the same.",
}


def _page(status: int, title: str, body: str) -> Response[str]:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(status_code=status, content_type="text/html; charset=utf-8", body=document)


def _scale_page(token: str) -> Response[str]:
    claim = surveys.verify(token, wiring.get_link_key(), wiring.now())
    low, high = surveys.scale(claim.kind)
    question = "How likely are you to recommend us to a friend?" if claim.kind == "nps" else "How satisfied were you?"
    links = "".join(
        f'<a href="?token={html.escape(token)}&amp;score={score}" style="margin:4px">{score}</a>'
        for score in range(low, high + 1)
    )
    return _page(200, question, f"<p>{links}</p>")


@router.get(
    "/journeys/surveys/answer",
    summary="One-click survey answer from a signed link (HTML)",
    responses={
        200: _page_doc("The scale (no score), or a thank-you page"),
        400: {
            "description": "A link that is not valid (a page), or a malformed query (the error body)",
            "content": {**_PAGE, "application/json": {"model": ErrorBody}},
        },
        410: _page_doc("The link has expired"),
    },
)
def answer_by_link(
    token: Annotated[str, Query(min_length=10, max_length=1024)],
    score: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> Response[str]:
    if score is None:
        return _scale_page(token)
    outcome = wiring.get_service().answer_link(token, score, wiring.get_link_key())
    return _page(200, MESSAGES[outcome], "")


@router.post(
    "/journeys/surveys/answer",
    summary="Survey answer from a signed link (JSON)",
    responses={
        200: {
            "description": "What became of the answer",
            "content": {"application/json": {"model": SurveyAnswerResult}},
        },
        400: {
            "description": "Not a valid link (field token) or score",
            "content": {"application/json": {"model": ErrorBody}},
        },
        410: {
            "description": "The link has expired (link_expired)",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def answer_by_post(body: Annotated[SurveyAnswerBody, Body()]) -> SurveyAnswerResult:
    outcome = wiring.get_service().answer_link(body.token, body.score, wiring.get_link_key())
    return SurveyAnswerResult(outcome=outcome)


def bad_link_page(reason: str) -> Response[Any]:
    status = 410 if reason == "expired" else 400
    text = "This link has expired." if reason == "expired" else "This link is not valid."
    return _page(status, text, "")
