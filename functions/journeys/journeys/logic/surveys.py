"""Survey answers (pure): reading a reply, classifying a score, and the signed one-click links.

- **A reply** is an answer when it is short (at most 40 characters) and holds exactly one whole number in the
  scale: ``"9"``, ``"9/10"``, ``"9 out of 10!"``, ``"Puanım 8"``; NPS 0-10, CSAT 1-5. ``"10 / 10"`` is 10 (a
  number followed by the scale's top is read as "n out of top"). Anything else is a message, not an answer.
- **Detractors**: NPS 0-6 (promoters 9-10, passives 7-8); a **low CSAT** is 1-2 (satisfied 4-5), as the KPIs
  count them (``docs/kpis.md``).
- **Links**: ``<token>`` = base64url(JSON payload) + ``.`` + base64url(HMAC-SHA256(payload)) with the stack's
  survey key; the payload names the journey, profile, run, step, kind and an expiry, so a link answers exactly
  one question of one customer, and nothing else can be forged from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_REPLY_LENGTH = 40
_NUMBER = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")
SCALES = {"nps": (0, 10), "csat": (1, 5)}


def scale(kind: str) -> tuple[int, int]:
    return SCALES[kind]


def score_from_reply(text: str | None, kind: str) -> int | None:
    """The score a reply gives, or None when it is not an answer on ``kind``'s scale."""
    if not text:
        return None
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_REPLY_LENGTH:
        return None
    low, high = scale(kind)
    numbers = [int(found) for found in _NUMBER.findall(stripped)]
    if len(numbers) == 2 and numbers[1] == high and re.search(r"\d\s*(/|out of|üzerinden)\s*\d", stripped):
        numbers = numbers[:1]
    if len(numbers) != 1 or not low <= numbers[0] <= high:
        return None
    return numbers[0]


def is_low(kind: str, score: int) -> bool:
    """An NPS detractor (0-6) or a low CSAT (1-2): the answers that ask for a follow-up."""
    return score <= 6 if kind == "nps" else score <= 2


def category(kind: str, score: int) -> str:
    if kind == "nps":
        return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return "satisfied" if score >= 4 else "neutral" if score == 3 else "unsatisfied"


@dataclass(frozen=True)
class LinkClaim:
    journey_id: str
    profile_id: str
    run: int
    step_id: str
    kind: str
    expires: int  # epoch seconds

    def payload(self) -> dict[str, Any]:
        return {
            "j": self.journey_id,
            "p": self.profile_id,
            "r": self.run,
            "s": self.step_id,
            "k": self.kind,
            "e": self.expires,
        }


class OffScale(ValueError):
    """A score outside the question's scale (NPS 0-10, CSAT 1-5)."""


class BadLink(ValueError):
    """The link is malformed, forged or expired (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claim: LinkClaim, key: bytes) -> str:
    body = json.dumps(claim.payload(), separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(signature)}"


def verify(token: str, key: bytes, now: datetime) -> LinkClaim:
    body_text, dot, signature_text = token.partition(".")
    if not dot or not body_text or not signature_text or len(token) > 1024:
        raise BadLink("malformed")
    try:
        body, signature = _unb64(body_text), _unb64(signature_text)
    except (ValueError, TypeError) as error:
        raise BadLink("malformed") from error
    if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), signature):
        raise BadLink("forged")
    try:
        payload = json.loads(body)
        claim = LinkClaim(
            journey_id=str(payload["j"]),
            profile_id=str(payload["p"]),
            run=int(payload["r"]),
            step_id=str(payload["s"]),
            kind=str(payload["k"]),
            expires=int(payload["e"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise BadLink("malformed") from error
    if claim.kind not in SCALES:
        raise BadLink("malformed")
    if now.astimezone(UTC).timestamp() > claim.expires:
        raise BadLink("expired")
    return claim


def links(base_url: str, token: str, kind: str) -> dict[str, str]:
    """``survey_link`` (a page asking for the score) and ``survey_link_<n>`` (one click per score)."""
    base = f"{base_url.rstrip('/')}/journeys/surveys/answer?token={token}"
    low, high = scale(kind)
    return {"survey_link": base, **{f"survey_link_{n}": f"{base}&score={n}" for n in range(low, high + 1)}}
