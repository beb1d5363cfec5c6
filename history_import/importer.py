"""History import: a file of past events in Segment's shape, sent through capture's public ``/v1/import`` in
batches, so orders, customers and their identities land in capture, profiles and the KPIs exactly as live traffic
does. Marketing spend (a CSV of ``day, channel, campaign, amount, currency``) goes to ``POST /kpis/spend``.

- **JSON Lines**: one Segment message per line (``type``, ``userId`` / ``anonymousId``, ``event``, ``properties``,
  ``traits``, ``context``, ``timestamp``, ``messageId`` ...), as Segment's own exports and replays write them.
- **CSV**: one message per row, Segment's field names as columns; a dotted column nests
  (``properties.revenue``, ``traits.email``, ``context.campaign.name``); empty cells are left out.

Idempotent: a message keeps its ``messageId``; a row without one gets ``import-<sha256 of its content>``, so the
same row sent again is answered as a duplicate, never counted twice. Resumable: after each acknowledged batch the
state file (``<file>.import-state.json``) records the lines done (a contiguous prefix, the CSV header and blank
lines included) with the file's SHA-256; a new run of the same file skips them, and a state file written for
another file (a new export under the same name) is refused, naming ``--restart``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's limits, as capture enforces them
MAX_BATCH_BYTES = 480 * 1024  # under the 500 KB limit, with room for the envelope
MAX_BATCH_MESSAGES = 500
SPEND_COLUMNS = ("day", "channel", "campaign", "amount", "currency")
SPEND_BATCH = 1000
RETRIES = 6
TRANSIENT = {429, 500, 502, 503, 504}


class UnreadableFile(Exception):
    """The file cannot be imported at all (unknown format, unreadable header, not UTF-8, a state file that is not
    this file's)."""


@dataclass
class Row:
    line: int
    message: dict[str, Any] | None  # None: refused locally (``problem`` says why)
    size: int = 0
    problem: str | None = None


@dataclass
class Batch:
    """Rows sent together, and the span of lines they settle: from the line after the previous batch's last (a
    CSV header, blank lines) to the last row's, so the lines done stay a contiguous prefix of the file."""

    first: int
    last: int
    rows: list[Row]


@dataclass
class Answer:
    """What capture answered for one batch: every refused row counted, the first ones described by line."""

    accepted: int = 0
    duplicates: int = 0
    refusals: list[str] = field(default_factory=list)  # "line N: field: why"
    refused: int = 0


@dataclass
class Outcome:
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)  # "line N: field: why" (capture describes 50 a batch)
    refused_count: int = 0  # every refused row, described or not
    skipped: int = 0  # done by an earlier run


def message_id(message: dict[str, Any]) -> str:
    """The row's own ``messageId``, else one derived from its content (the same row, the same id)."""
    existing = message.get("messageId")
    if isinstance(existing, str) and existing.strip():
        return existing
    body = json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "import-" + hashlib.sha256(body.encode()).hexdigest()[:32]


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in flat.items():
        if value is None or value == "" or column is None:
            continue
        target = out
        parts = column.strip().split(".")
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise ValueError(f"{column}: {part} is both a value and an object")
            target = nested
        target[parts[-1]] = value
    return out


def _finish(line: int, message: Any) -> Row:
    if not isinstance(message, dict):
        return Row(line, None, problem="the line is not a JSON object")
    message = dict(message)
    message["messageId"] = message_id(message)
    size = len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_MESSAGE_BYTES:
        return Row(line, None, problem=f"message: larger than {MAX_MESSAGE_BYTES // 1024} KB")
    return Row(line, message, size)


def kind_of(path: Path) -> str:
    """``events-jsonl``, ``events-csv`` or ``spend`` (a CSV whose header is the spend columns)."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "events-jsonl"
    if path.suffix.lower() != ".csv":
        raise UnreadableFile(f"{path.name}: a .jsonl (or .ndjson) or .csv file is expected")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = [column.strip() for column in next(csv.reader(handle), [])]
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"{path.name}: not UTF-8 (byte {error.start} of its start); save it as UTF-8") from error
    if not header:
        raise UnreadableFile(f"{path.name}: the CSV has no header")
    return "spend" if set(header) == set(SPEND_COLUMNS) else "events-csv"


def rows(path: Path, kind: str, skip_lines: int = 0) -> Iterator[Row]:
    """The file's messages with their line numbers (a CSV's header is line 1), after ``skip_lines`` lines."""
    with path.open(newline="" if kind != "events-jsonl" else None, encoding="utf-8-sig") as handle:
        try:
            if kind == "events-jsonl":
                for line, text in enumerate(handle, start=1):
                    if line <= skip_lines or not text.strip():
                        continue
                    try:
                        yield _finish(line, json.loads(text))
                    except json.JSONDecodeError as error:
                        yield Row(line, None, problem=f"not JSON ({error.msg})")
                return
            reader = csv.DictReader(handle)
            for row in reader:
                line = reader.line_num
                if line <= skip_lines:
                    continue
                try:
                    yield _finish(line, _nest(row))
                except ValueError as error:
                    yield Row(line, None, problem=str(error))
        except UnicodeDecodeError as error:
            raise UnreadableFile(
                f"{path.name}: not UTF-8 (byte {error.start} of a line after line {skip_lines}); save it as UTF-8"
            ) from error


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def batches(stream: Iterator[Row], outcome: Outcome, first_line: int = 1) -> Iterator[Batch]:
    """Rows packed into ``/v1/import`` batches (at most 500 messages and 480 KB); refused rows are noted. The first
    batch settles the lines from ``first_line`` on, each next one from the line after the previous one's last."""
    batch: list[Row] = []
    size = 0
    first = first_line
    for row in stream:
        outcome.read += 1
        if row.message is None:
            outcome.refused.append(f"line {row.line}: {row.problem}")
            outcome.refused_count += 1
            batch.append(row)  # keeps its place, so the lines done stay a contiguous prefix
            continue
        if batch and (len(batch) >= MAX_BATCH_MESSAGES or size + row.size + 1 > MAX_BATCH_BYTES):
            yield Batch(first, batch[-1].line, batch)
            first = batch[-1].line + 1
            batch, size = [], 0
        batch.append(row)
        size += row.size + 1
    if batch:
        yield Batch(first, batch[-1].line, batch)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Checkpoint:
    """The lines done, as a contiguous prefix of the file, kept beside it."""

    def __init__(self, path: Path, source: Path) -> None:
        self.path = path
        self.identity: dict[str, Any] = {
            "file": source.name,
            "size": source.stat().st_size,
            "sha256": file_digest(source),
        }
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}  # first line -> last line of an acknowledged batch
        self.done = 0
        self.totals: dict[str, int] = {"accepted": 0, "duplicates": 0, "refused": 0}
        if path.exists():
            restart = f"run again with --restart to import {source.name} from its first line (rows already "
            restart += "imported are answered as duplicates, never counted twice)"
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
                done = int(state["done_lines"]) if isinstance(state, dict) else -1
            except (ValueError, KeyError, TypeError) as error:
                raise UnreadableFile(f"{path.name}: not a resume file ({error}); {restart}") from error
            if done < 0 or {key: state.get(key) for key in self.identity} != self.identity:
                raise UnreadableFile(f"{path.name} records the progress of another file (name, size or content "
                                     f"differ from {source.name}'s); {restart}")  # fmt: skip
            self.done = done
            self.totals.update({key: int(state.get(key, 0)) for key in self.totals})

    def acknowledge(self, first: int, last: int, accepted: int, duplicates: int, refused: int) -> None:
        with self._lock:
            self._pending[first] = last
            self.totals["accepted"] += accepted
            self.totals["duplicates"] += duplicates
            self.totals["refused"] += refused
            advanced = False
            while True:
                following = min((start for start in self._pending if start <= self.done + 1), default=None)
                if following is None:
                    break
                self.done = max(self.done, self._pending.pop(following))
                advanced = True
            if advanced:
                state = {**self.identity, "done_lines": self.done, **self.totals}
                temporary = self.path.with_suffix(".tmp")
                temporary.write_text(json.dumps(state), encoding="utf-8")
                temporary.replace(self.path)


@dataclass
class Target:
    url: str
    write_key: str
    token: str | None = None
    timeout: float = 60.0


class Sender:
    """One keep-alive HTTP session per thread; transient failures retried with backoff."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        for attempt in range(RETRIES):
            try:
                answer = self._session().post(
                    self.target.url.rstrip("/") + path, data=body, headers=headers, timeout=self.target.timeout
                )
            except (requests.ConnectionError, requests.Timeout):
                # A busy API may answer after the timeout: sending the batch again is safe (messageIds), and the
                # import goes on rather than stopping at the first slow answer.
                if attempt == RETRIES - 1:
                    raise
            else:
                if answer.status_code not in TRANSIENT or attempt == RETRIES - 1:
                    return answer
            time.sleep(min(30.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")

    def send_events(self, batch: Sequence[Row]) -> Answer:
        """What capture answered for one batch (its rows refused locally are the caller's)."""
        messages = [row for row in batch if row.message is not None]
        if not messages:
            return Answer()
        body = json.dumps({"batch": [row.message for row in messages]}, ensure_ascii=False).encode()
        answer = self.post(
            "/v1/import",
            body,
            {"Content-Type": "application/json", "Authorization": _basic(self.target.write_key)},
        )
        data = _json(answer)
        span = f"lines {messages[0].line}-{messages[-1].line}"
        if answer.status_code == 200:
            listed = data.get("rejected", [])
            refusals = [
                f"line {messages[item['index']].line}: "
                + "; ".join(f"{e['field']}: {e['message']}" for e in item.get("errors", []))
                for item in listed
            ]
            more = int(data.get("more_rejected", 0) or 0)
            if more:
                refusals.append(f"{span}: {more} more refused (capture describes the first {len(listed)} of a batch)")
            return Answer(int(data.get("accepted", 0)), int(data.get("duplicates", 0)), refusals, len(listed) + more)
        if answer.status_code == 400:  # nothing in the batch was acceptable: every message is refused
            return Answer(refusals=_refusals_of_a_batch(data, messages, span), refused=len(messages))
        raise RuntimeError(f"/v1/import answered {answer.status_code}: {data.get('message', answer.text[:200])}")

    def send_spend(self, batch: Sequence[dict[str, Any]]) -> int:
        if not self.target.token:
            raise UnreadableFile("spend needs an admin token (--token, or a local runtime's dev sign-in)")
        answer = self.post(
            "/kpis/spend",
            json.dumps({"rows": list(batch)}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.target.token}"},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"/kpis/spend answered {answer.status_code}: {answer.text[:500]}")
        return int(_json(answer).get("stored", 0))


_BATCH_FIELD = re.compile(r"^batch\.(\d+)\.(.+)$")


def _refusals_of_a_batch(data: dict[str, Any], messages: Sequence[Row], span: str) -> list[str]:
    """A refused batch's field errors by line (``batch.<index>.<field>``), else its message for the whole span."""
    by_line: dict[int, list[str]] = {}
    for error in data.get("errors") or []:
        found = _BATCH_FIELD.match(str(error.get("field", ""))) if isinstance(error, dict) else None
        if found and int(found.group(1)) < len(messages):
            line = messages[int(found.group(1))].line
            by_line.setdefault(line, []).append(f"{found.group(2)}: {error.get('message', 'refused')}")
    if not by_line:
        return [f"{span}: {data.get('message', 'refused')}"]
    return [f"line {line}: " + "; ".join(problems) for line, problems in sorted(by_line.items())]


def _basic(write_key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def import_events(
    path: Path,
    kind: str,
    sender: Sender,
    checkpoint: Checkpoint,
    *,
    workers: int = 4,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Sends the file's messages, ``workers`` batches in flight; returns what capture answered."""
    outcome = Outcome(skipped=checkpoint.done)
    in_flight: dict[Future[Answer], Batch] = {}

    def settle(done: set[Future[Answer]]) -> None:
        for future in done:
            batch = in_flight.pop(future)
            answer = future.result()
            outcome.accepted += answer.accepted
            outcome.duplicates += answer.duplicates
            outcome.refused += answer.refusals
            outcome.refused_count += answer.refused
            local = sum(1 for row in batch.rows if row.message is None)
            checkpoint.acknowledge(batch.first, batch.last, answer.accepted, answer.duplicates, answer.refused + local)
            if progress is not None:
                progress(len(batch.rows))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in batches(rows(path, kind, checkpoint.done), outcome, checkpoint.done + 1):
            while len(in_flight) >= 2 * workers:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                settle(finished)
            in_flight[pool.submit(sender.send_events, batch.rows)] = batch
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            settle(finished)
    return outcome


def import_spend(path: Path, sender: Sender, progress: Callable[[int], None] | None = None) -> Outcome:
    """Spend rows in batches of 1,000 (a row sent again replaces itself, so this is idempotent as a whole)."""
    outcome = Outcome()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        batch: list[dict[str, Any]] = []
        for row in reader:
            outcome.read += 1
            batch.append({column: (row.get(column) or "").strip() for column in SPEND_COLUMNS})
            if len(batch) == SPEND_BATCH:
                outcome.accepted += sender.send_spend(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            outcome.accepted += sender.send_spend(batch)
            if progress is not None:
                progress(len(batch))
    return outcome


def local_admin_token(url: str) -> str | None:
    """The local runtime's dev sign-in (absent on AWS: None)."""
    try:
        answer = requests.post(url.rstrip("/") + "/_local/token", json={"role": "admin", "sub": "history-import"},
                               timeout=10)  # fmt: skip
    except requests.RequestException:
        return None
    return str(answer.json()["token"]) if answer.status_code == 200 else None


__all__ = [
    "Answer",
    "Batch",
    "Checkpoint",
    "Outcome",
    "Sender",
    "Target",
    "UnreadableFile",
    "count_lines",
    "import_events",
    "import_spend",
    "kind_of",
    "local_admin_token",
    "message_id",
    "rows",
]
