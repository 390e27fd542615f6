"""Which of tcllib's sessions (messages) goes with which of the bridge's.

Each item is known by a fixed-size `digest` of its normalised form (a 10 MB
message is 32 bytes, not its repr), and the two runs' digests are paired in
order in linear time: equal ones first, the others by position between them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Hashable, Sequence
from dataclasses import fields, is_dataclass

# An equal item further ahead than this (in either run) is taken for a
# coincidence: the items before it are paired by position instead of all
# being called missing.
LOOKAHEAD = 64
_CHUNK = 1 << 16  # characters of a string encoded at a time


def digest(value: object) -> bytes:
    """SHA-256 of `value` (str, bytes, int, None, lists and tuples of them, a
    dataclass by its fields): equal values give equal digests, different ones
    different (each piece is tagged and its length given). Strings are
    encoded a piece at a time: no copy of a whole body is made."""
    hasher = hashlib.sha256()
    _feed(hasher, value)
    return hasher.digest()


def _feed(hasher: hashlib._Hash, value: object) -> None:
    if value is None:
        hasher.update(b"N")
    elif isinstance(value, str):
        hasher.update(b"S%d:" % len(value))
        for start in range(0, len(value), _CHUNK):
            hasher.update(value[start:start + _CHUNK].encode("utf-8", "surrogatepass"))
    elif isinstance(value, bytes | bytearray):
        hasher.update(b"B%d:" % len(value))
        hasher.update(value)
    elif isinstance(value, bool | int):
        hasher.update(b"I%d:" % value)
    elif isinstance(value, list | tuple):
        hasher.update(b"L%d:" % len(value))
        for item in value:
            _feed(hasher, item)
    elif is_dataclass(value) and not isinstance(value, type):
        hasher.update(b"D" + type(value).__name__.encode() + b":")
        for field in fields(value):
            _feed(hasher, getattr(value, field.name))
    else:
        raise TypeError(f"cannot digest a {type(value).__name__}")


def pairs(expected: Sequence[Hashable], actual: Sequence[Hashable]
          ) -> list[tuple[int | None, int | None]]:
    """Which of tcllib's items (`expected`, by key) goes with which of the
    bridge's: equal keys in order, the others by position between them; None
    where one run has nothing to match (so one session the bridge never
    opened is one difference, not a shift of every later one). Linear: a
    common start and end, then at each unequal pair the nearer of the two
    keys' next occurrences in the other run (within LOOKAHEAD) is matched."""
    anchors = _equal_pairs(expected, actual)
    found: list[tuple[int | None, int | None]] = []
    i = j = 0
    for n, m in [*anchors, (len(expected), len(actual))]:
        common = min(n - i, m - j)
        found += [(i + k, j + k) for k in range(common)]
        found += [(k, None) for k in range(i + common, n)]
        found += [(None, k) for k in range(j + common, m)]
        if n < len(expected):
            found.append((n, m))
        i, j = n + 1, m + 1
    return found


def _equal_pairs(expected: Sequence[Hashable], actual: Sequence[Hashable]
                 ) -> list[tuple[int, int]]:
    """Pairs of equal items, increasing in both runs."""
    size = min(len(expected), len(actual))
    head = 0
    while head < size and expected[head] == actual[head]:
        head += 1
    tail = 0
    while tail < size - head and expected[-1 - tail] == actual[-1 - tail]:
        tail += 1
    found = [(k, k) for k in range(head)]
    later_expected = _positions(expected, head, len(expected) - tail)
    later_actual = _positions(actual, head, len(actual) - tail)
    i, j = head, head
    while i < len(expected) - tail and j < len(actual) - tail:
        if expected[i] == actual[j]:
            found.append((i, j))
            i, j = i + 1, j + 1
            continue
        skip_actual = _distance(later_actual, expected[i], j)
        skip_expected = _distance(later_expected, actual[j], i)
        if min(skip_actual, skip_expected) > LOOKAHEAD:
            i, j = i + 1, j + 1  # both left to be paired by position
        elif skip_expected <= skip_actual:
            i += skip_expected
        else:
            j += skip_actual
    n, m = len(expected) - tail, len(actual) - tail
    found += [(n + k, m + k) for k in range(tail)]
    return found


def _positions(items: Sequence[Hashable], start: int, end: int) -> dict[Hashable, deque[int]]:
    """Each key's indices in items[start:end], in order."""
    found: dict[Hashable, deque[int]] = defaultdict(deque)
    for k in range(start, end):
        found[items[k]].append(k)
    return found


def _distance(positions: dict[Hashable, deque[int]], key: Hashable, start: int) -> int:
    """How far from `start` the next `key` is (a large number: none). Indices
    before `start` are dropped for good: each is looked at once."""
    ahead = positions.get(key)
    while ahead and ahead[0] < start:
        ahead.popleft()
    return ahead[0] - start if ahead else 1 << 62
