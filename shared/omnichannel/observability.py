"""Logger, Metrics and Tracer for one function, configured the same way everywhere.

No PII in logs: the code logs ids and counts, never payloads, and the logger's serializer masks anything shaped
like an e-mail address or an E.164 phone number that slips through anyway.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

_EMAIL = re.compile(r"[\w.+\-\u00c0-\uffff]+@[\w\-\u00c0-\uffff]+(?:\.[\w\-\u00c0-\uffff]+)+")
_E164 = re.compile(r"\+[1-9]\d{6,14}\b")


def mask_pii(text: str) -> str:
    """Replace e-mail addresses and E.164 phone numbers, keeping the e-mail domain for troubleshooting."""
    text = _EMAIL.sub(lambda match: "***@" + match.group(0).rsplit("@", 1)[1], text)
    return _E164.sub(lambda match: match.group(0)[:3] + "*" * (len(match.group(0)) - 5) + match.group(0)[-2:], text)


def masked_json_dumps(record: Any) -> str:
    return mask_pii(json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":")))


def build_logger(service: str) -> Logger:
    return Logger(service=service, json_serializer=masked_json_dumps)


def build_metrics(service: str) -> Metrics:
    return Metrics(service=service)


def build_tracer(service: str) -> Tracer:
    return Tracer(service=service)
