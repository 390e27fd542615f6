"""Stream helpers shared by the socket writer and copymessage."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import AnyStr


def coalesce(pieces: Iterable[AnyStr], size: int) -> Iterator[AnyStr]:
    """Join small pieces into blocks of at least `size` (the last may be
    shorter), so each write is one large syscall instead of many small ones."""
    pending: list[AnyStr] = []
    length = 0
    for piece in pieces:
        pending.append(piece)
        length += len(piece)
        if length >= size:
            yield pending[0][:0].join(pending)
            pending, length = [], 0
    if pending:
        yield pending[0][:0].join(pending)
