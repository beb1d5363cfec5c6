from __future__ import annotations

import json

from omnichannel.observability import mask_pii, masked_json_dumps


def test_emails_in_any_script_are_masked_keeping_the_domain() -> None:
    text = mask_pii("from ayşe.yılmaz+promo@örnek.com.tr and 李雷@例子.中国")
    assert "ayşe" not in text
    assert "李雷" not in text
    assert "***@örnek.com.tr" in text
    assert "***@例子.中国" in text


def test_e164_numbers_are_masked_but_timestamps_and_ids_are_not() -> None:
    text = mask_pii("call +905321234567 at 2026-11-23 18:00:00, request 1234567890123")
    assert "+905321234567" not in text
    assert "+90********67" in text
    assert "2026-11-23 18:00:00" in text
    assert "1234567890123" in text


def test_the_logger_serializer_masks_nested_values() -> None:
    line = masked_json_dumps({"message": "x", "extra": {"to": "bob@example.com", "phone": "+14155552671"}})
    record = json.loads(line)
    assert record["extra"] == {"to": "***@example.com", "phone": "+14*******71"}
