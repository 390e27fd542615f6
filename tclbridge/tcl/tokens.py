"""The token table of one interpreter: `::mime::N` <-> `Part`.

Token numbers come from one counter, as tcllib's `mime(uid)`: each
`initialize` and each `parseaddress` takes the next number, also those that
tcllib's `smtp::sendmessage` makes internally (`skip_numbers`).
"""

from __future__ import annotations

import weakref

from tclbridge.engine_errors import MimeError, MimeKind
from tclbridge.mime.model import Part


def no_such_part(reading: str = "header") -> MimeError:
    """tcllib's error for a token that names no part: the first state
    variable the command reads (`reading`) is missing."""
    return MimeError(f'can\'t read "state({reading})": no such variable', MimeKind.GONE_PART)


class PartTokens:
    """Live tokens and their parts, and each part's name kept after finalize:
    a container still lists a finalized sub-part by the name it had, as
    tcllib does."""

    def __init__(self) -> None:
        self._uid = 0
        self._parts: dict[str, Part] = {}
        self._names: weakref.WeakKeyDictionary[Part, str] = weakref.WeakKeyDictionary()

    def part(self, token: str, reading: str = "header") -> Part:
        """The part behind `token`, or tcllib's error for a bad token."""
        try:
            return self._parts[token]
        except KeyError:
            raise no_such_part(reading) from None

    def find(self, token: str) -> Part | None:
        """The part behind `token`, or None."""
        return self._parts.get(token)

    def __contains__(self, token: str) -> bool:
        return token in self._parts

    def token(self, part: Part) -> str:
        """The token of `part` (finalized or not), giving it one if it was
        made in Python."""
        known = self._names.get(part)
        if known is not None:
            return known
        return self.add(part)

    def new_token(self) -> str:
        self._uid += 1
        return f"::mime::{self._uid}"

    def skip_numbers(self, count: int) -> None:
        """Use up `count` token numbers, as tcllib's own calls to mime
        (parseaddress, initialize) do without the script seeing a token."""
        self._uid += count

    def add(self, part: Part, token: str | None = None) -> str:
        """Name `part` `token` (default: the next number)."""
        token = token or self.new_token()
        self._parts[token] = part
        self._names[part] = token
        return token

    def remove(self, token: str) -> None:
        """`token` no longer names a part (finalize); the part keeps its name."""
        del self._parts[token]
