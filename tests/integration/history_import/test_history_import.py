"""The history import against the local runtime: Segment JSON Lines and CSV through /v1/import, idempotent by
messageId (a second run, or a resent file, counts nothing twice), resumable after a stop, bad rows listed by line
and field while the good ones land, spend through POST /kpis/spend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from history_import import importer
from history_import.__main__ import main
from local_runtime.runtime import LocalRuntime
from tests.e2e.conftest import TEMPLATE


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.start(TEMPLATE, mode="inprocess", http_port=0) as rt:
        yield rt


def test_csv_columns_nest_and_rows_without_a_message_id_get_a_stable_one(tmp_path: Path):
    # Given a CSV in Segment's shape with dotted columns and no messageId
    file = tmp_path / "orders.csv"
    file.write_text(
        "type,userId,event,timestamp,properties.revenue,properties.currency,context.campaign.name,traits.email\n"
        "track,cus-1,Order Completed,2025-11-03T10:00:00Z,100.50,TRY,black-friday,\n",
        encoding="utf-8",
    )
    # When it is read twice
    first = list(importer.rows(file, importer.kind_of(file)))
    second = list(importer.rows(file, importer.kind_of(file)))
    # Then the dotted columns nest, the empty cell is left out, and the derived messageId is the same each time
    message = first[0].message
    assert message is not None
    assert message["properties"] == {"revenue": "100.50", "currency": "TRY"}
    assert message["context"] == {"campaign": {"name": "black-friday"}}
    assert "traits" not in message
    assert message["messageId"].startswith("import-")
    assert second[0].message is not None
    assert second[0].message["messageId"] == message["messageId"]
    assert first[0].line == 2


def _history(tmp_path: Path, count: int) -> Path:
    file = tmp_path / "history.jsonl"
    lines = [
        {"type": "identify", "userId": f"hi-{n}", "timestamp": "2025-10-01T09:00:00Z",
         "traits": {"email": f"hi-{n}@example.com", "phone": f"+90 532 111 {n:04d}"}}
        for n in range(count)
    ] + [
        {"type": "track", "userId": f"hi-{n}", "event": "Order Completed", "timestamp": "2025-10-02T09:00:00Z",
         "properties": {"order_id": f"hi-{n}", "revenue": "10.00", "currency": "TRY"}}
        for n in range(count)
    ]  # fmt: skip
    text = "".join(json.dumps(line) + "\n" for line in lines)
    file.write_text(text + "{not json}\n" + json.dumps({"type": "track", "event": "x"}) + "\n", encoding="utf-8")
    return file


def test_an_import_lands_once_resumes_and_lists_bad_rows(runtime: LocalRuntime, tmp_path: Path, capsys):
    # Given 1,200 messages (so several batches), one line that is not JSON and one message without an id
    file = _history(tmp_path, 600)
    args = [str(file), "--url", runtime.base_url, "--no-progress", "--workers", "2"]

    # When it is imported
    assert main(args) == 1  # two rows refused
    out = capsys.readouterr()
    # Then every good row was accepted and each bad one is named by line and field
    assert "1202 rows read" in out.out
    assert "1200 accepted" in out.out
    assert "line 1201: not JSON" in out.err
    assert "line 1202:" in out.err
    assert "userId" in out.err
    # And the resume file says every line is done: a second run sends nothing
    state = json.loads((tmp_path / "history.jsonl.import-state.json").read_text())
    assert state["done_lines"] == 1202
    main(args)
    assert "0 rows read" in capsys.readouterr().out

    # When the resume file is dropped halfway (a stop after the first batches) and the import runs again
    state["done_lines"] = 700
    (tmp_path / "history.jsonl.import-state.json").write_text(json.dumps(state))
    main(args)
    out = capsys.readouterr().out
    # Then it goes on from line 701, and capture answers the rows sent again as duplicates: nothing twice
    assert "502 rows read" in out
    assert "0 accepted, 500 already imported" in out
    assert "700 lines done by an earlier run were skipped" in out


def test_spend_goes_through_the_kpi_api_and_replaces_itself(runtime: LocalRuntime, tmp_path: Path, capsys):
    file = tmp_path / "spend.csv"
    file.write_text("day,channel,campaign,amount,currency\n2025-10-01,web,autumn,1250.00,TRY\n", encoding="utf-8")
    for _ in range(2):
        assert main([str(file), "--url", runtime.base_url, "--no-progress"]) == 0
    assert "1 spend rows stored" in capsys.readouterr().out
    token = runtime.token("agent", sub="analyst")
    answer = runtime.request(
        "GET", "/kpis", query={"start": "2025-10-01", "end": "2025-10-01", "granularity": "total"},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert answer.json()["totals"]["spend"] == "1250.00"


def test_a_batch_answered_after_the_timeout_is_sent_again_not_the_end_of_the_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an API whose first answer comes after the importer's timeout
    calls: list[float] = []

    class _Session:
        def post(self, url: str, data: bytes, headers: dict[str, str], timeout: float) -> object:
            calls.append(timeout)
            if len(calls) == 1:
                raise requests.ReadTimeout("read timed out")
            answer = requests.Response()
            answer.status_code = 200
            answer._content = b'{"accepted": 1, "duplicates": 0, "rejected": []}'
            return answer

    sender = importer.Sender(importer.Target(url="http://api.test", write_key="k", timeout=0.01))
    monkeypatch.setattr(sender, "_session", lambda: _Session())
    monkeypatch.setattr("history_import.importer.time.sleep", lambda seconds: None)

    # When a batch is sent
    answer = sender.send_events([importer.Row(line=1, message={"type": "track"})])

    # Then it was sent again and counted once
    assert len(calls) == 2
    assert answer == importer.Answer(accepted=1, duplicates=0, refusals=[], refused=0)
