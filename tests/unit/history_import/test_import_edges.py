"""Edge inputs of history_import: the resume point covers every line (a CSV header, blank lines), a state file
belongs to one file's content, every refused row is counted, and unreadable input is a clear error (exit 2), never
a traceback. A fake ``/v1/import`` answers the way capture's batch call does
(``functions/capture/capture/routes/tracking_api.py``: at most 50 rejections described, ``more_rejected`` the
rest, 400 with each message's field errors when nothing in the batch was acceptable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from history_import import importer
from history_import.__main__ import main


class FakeAnswer:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self._body = body
        self.text = json.dumps(body)

    def json(self) -> dict[str, Any]:
        return self._body


class FakeCapture(importer.Sender):
    """Accepts every message whose ``event`` is not "BAD"; remembers every messageId it was sent."""

    MAX_LISTED = 50

    def __init__(self) -> None:
        super().__init__(importer.Target("http://fake", "k"))
        self.sent: list[str] = []

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Any:
        batch = json.loads(body)["batch"]
        self.sent += [m["messageId"] for m in batch]
        rejected = [
            {"index": i, "messageId": m["messageId"], "errors": [{"field": f"batch.{i}.event", "message": "bad"}]}
            for i, m in enumerate(batch)
            if m.get("event") == "BAD"
        ]
        accepted = len(batch) - len(rejected)
        if rejected and not accepted:
            errors = [error for item in rejected[: self.MAX_LISTED] for error in item["errors"]]
            message = f"no message in the batch was acceptable ({len(rejected)} refused)"
            return FakeAnswer(400, {"message": message, "errors": errors})
        return FakeAnswer(
            200,
            {
                "success": True,
                "accepted": accepted,
                "duplicates": 0,
                "rejected": rejected[: self.MAX_LISTED],
                "more_rejected": max(0, len(rejected) - self.MAX_LISTED),
            },
        )


def _track(n: int, event: str = "Order Completed") -> dict[str, Any]:
    return {"type": "track", "userId": f"u-{n}", "event": event, "timestamp": "2025-10-02T09:00:00Z"}


def _run(file: Path, kind: str, sender: FakeCapture) -> tuple[importer.Outcome, importer.Checkpoint]:
    checkpoint = importer.Checkpoint(file.with_name(file.name + ".import-state.json"), file)
    outcome = importer.import_events(file, kind, sender, checkpoint, workers=1)
    return outcome, importer.Checkpoint(checkpoint.path, file)


# ---------------------------------------------------------------- resume state never advances


def test_csv_import_records_its_progress(tmp_path: Path) -> None:
    file = tmp_path / "h.csv"
    file.write_text(
        "type,userId,event,timestamp\n" + "".join(f"track,u-{n},E,2025-10-02T09:00:00Z\n" for n in range(10))
    )
    outcome, reread = _run(file, "events-csv", FakeCapture())
    assert outcome.accepted == 10
    # Expected: the 11 lines (header + 10 rows) are recorded done, so a rerun skips them.
    assert reread.path.exists(), "no resume file was ever written for a CSV import"
    assert reread.done == 11


def test_jsonl_with_a_leading_blank_line_records_its_progress(tmp_path: Path) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text("\n" + "".join(json.dumps(_track(n)) + "\n" for n in range(10)))
    outcome, reread = _run(file, "events-jsonl", FakeCapture())
    assert outcome.accepted == 10
    assert reread.done == 11


def test_jsonl_blank_line_at_a_batch_boundary_does_not_freeze_the_resume_point(tmp_path: Path) -> None:
    file = tmp_path / "h.jsonl"
    lines = [json.dumps(_track(n)) for n in range(500)] + [""] + [json.dumps(_track(n)) for n in range(500, 700)]
    file.write_text("\n".join(lines) + "\n")
    outcome, reread = _run(file, "events-jsonl", FakeCapture())
    assert outcome.accepted == 700
    assert reread.done == 701  # the blank line too: a rerun sends nothing


# ---------------------------------------------------------------- resume state from another file


def test_a_resume_file_left_by_a_different_file_of_the_same_name_and_size_is_refused_naming_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text("".join(json.dumps(_track(n)) + "\n" for n in range(100, 200)))
    _run(file, "events-jsonl", FakeCapture())
    # The next export replaces the file: other customers, same byte size
    file.write_text("".join(json.dumps(_track(n)) + "\n" for n in range(300, 400)))
    with pytest.raises(importer.UnreadableFile, match="another file"):
        importer.Checkpoint(file.with_name(file.name + ".import-state.json"), file)
    assert main([str(file), "--url", "http://127.0.0.1:9", "--no-progress"]) == 2
    assert "--restart" in capsys.readouterr().err
    # And with --restart every row of the new file is sent
    (tmp_path / "h.jsonl.import-state.json").unlink()
    sender = FakeCapture()
    outcome, _ = _run(file, "events-jsonl", sender)
    assert (len(sender.sent), outcome.skipped) == (100, 0)


def test_the_same_file_resumes_where_it_stopped(tmp_path: Path) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text("".join(json.dumps(_track(n)) + "\n" for n in range(1200)))
    _run(file, "events-jsonl", FakeCapture())
    state = file.with_name(file.name + ".import-state.json")
    recorded = json.loads(state.read_text())
    state.write_text(json.dumps({**recorded, "done_lines": 500}))  # stopped after the first batch
    sender = FakeCapture()
    outcome, reread = _run(file, "events-jsonl", sender)
    assert (len(sender.sent), outcome.skipped, reread.done) == (700, 500, 1200)


def test_a_corrupt_resume_file_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text(json.dumps(_track(1)) + "\n")
    (tmp_path / "h.jsonl.import-state.json").write_text('{"file": "h.jsonl", "si')  # a write cut short
    assert main([str(file), "--url", "http://127.0.0.1:9", "--no-progress"]) == 2
    assert "not a resume file" in capsys.readouterr().err


def test_a_file_that_is_not_utf8_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "h.csv"
    file.write_bytes("type,userId,event,timestamp\ntrack,M\xfcller,E,2025-10-02T09:00:00Z\n".encode("latin-1"))
    assert main([str(file), "--url", "http://127.0.0.1:9", "--no-progress"]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_an_api_that_refuses_the_write_key_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text(json.dumps(_track(1)) + "\n")
    monkeypatch.setattr(importer.Sender, "post", lambda self, path, body, headers: FakeAnswer(401, {"message": "no"}))
    assert main([str(file), "--url", "http://api.test", "--no-progress"]) == 2
    assert "answered 401" in capsys.readouterr().err


# ---------------------------------------------------------------- refusals lost from the tally


def test_every_refused_row_is_counted_when_more_than_50_are_refused_in_a_batch(tmp_path: Path) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text("".join(json.dumps(_track(n, "BAD" if n % 2 else "E")) + "\n" for n in range(200)))
    outcome, reread = _run(file, "events-jsonl", FakeCapture())
    assert outcome.read == 200
    assert outcome.accepted == 100
    # capture describes 50 of a batch; the others are counted all the same
    assert outcome.refused_count == 100
    assert reread.totals["refused"] == 100
    assert outcome.accepted + outcome.duplicates + outcome.refused_count == outcome.read


def test_every_refused_row_is_counted_when_a_whole_batch_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text("".join(json.dumps(_track(n, "BAD")) + "\n" for n in range(30)))
    outcome, _ = _run(file, "events-jsonl", FakeCapture())
    assert outcome.read == 30
    assert outcome.refused_count == 30
    assert outcome.refused[0].startswith("line 1: event: bad")  # each described by its line, as in a 200
