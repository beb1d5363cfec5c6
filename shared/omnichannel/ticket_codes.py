"""Handoff ticket codes: 8 characters of Crockford's base32 (no I, L, O, U: nothing to misread aloud or on a
receipt), drawn from ``secrets`` (40 bits), shown as ``XXXX-XXXX``. Input is forgiving: case, dashes and spaces do
not matter, ``I``/``L`` read as ``1`` and ``O`` as ``0``.

One definition for the two functions that make codes: handoff (its tickets) and outbound (a store offer's code,
generated before handoff stores the ticket, so the message can carry it)."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH = 8
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_DROPPED = str.maketrans("", "", "- \t")


def new_code() -> str:
    """A fresh random code (8 characters, no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """The code a person typed or scanned, as stored; ``None`` when it cannot be a code."""
    code = text.upper().translate(_DROPPED).translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(character not in ALPHABET for character in code):
        return None
    return code


def display_code(code: str) -> str:
    """``ABCDEFGH`` -> ``ABCD-EFGH``."""
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"
