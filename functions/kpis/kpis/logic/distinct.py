"""Distinct customers per bucket: exact (a string set of hashed customer keys) up to ``cap`` members, then a
HyperLogLog sketch (2^10 registers, standard error about 3.3 %) beside the frozen set. Both merge: sets by union,
registers by maximum, so days and channels combine at read time. Both updates are idempotent (adding a member
twice, raising a register to the same value), so they need no dedupe of their own."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

PRECISION = 10
REGISTERS = 1 << PRECISION
DEFAULT_CAP = 256


def member_of(customer_key: str) -> str:
    return hashlib.sha256(customer_key.encode()).hexdigest()[:16]


def register_of(member: str) -> tuple[int, int]:
    """(register index, rank) of a member: the first 10 bits pick the register, the rank is the position of the
    first 1 in the remaining 54 bits."""
    value = int(hashlib.sha256(member.encode()).hexdigest()[:16], 16)
    index = value >> (64 - PRECISION)
    rest = value & ((1 << (64 - PRECISION)) - 1)
    rank = (64 - PRECISION) - rest.bit_length() + 1
    return index, rank


def estimate(registers: dict[int, int]) -> int:
    m = REGISTERS
    alpha = 0.7213 / (1 + 1.079 / m)
    total = sum(2.0 ** -registers.get(index, 0) for index in range(m))
    raw = alpha * m * m / total
    zeros = sum(1 for index in range(m) if registers.get(index, 0) == 0)
    if raw <= 2.5 * m and zeros:
        return round(m * math.log(m / zeros))
    return round(raw)


def count(members: Iterable[str], registers: dict[int, int]) -> tuple[int, bool]:
    """(distinct count, exact?) of the union of sets and sketches."""
    unique = set(members)
    if not registers:
        return len(unique), True
    merged = dict(registers)
    for member in unique:
        index, rank = register_of(member)
        merged[index] = max(merged.get(index, 0), rank)
    return estimate(merged), False
