"""How hard a slow property test tries: its full strength in the deep run (``make deep``, ``DEEP_PROPERTIES=1``,
which CI runs after ``make test`` when time allows), fewer examples in ``make test`` so the suite stays fast."""

from __future__ import annotations

import os


def examples(full: int, *, quick: int) -> int:
    return full if os.environ.get("DEEP_PROPERTIES") == "1" else quick
