"""Parsing an existing message (`mime::initialize -string/-file` without
-canonical)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tclbridge.errors import TclError

if TYPE_CHECKING:
    from tclbridge.mime.model import Part
    from tclbridge.mime.policy import TcllibPolicy


def parse_part(part: Part, policy: TcllibPolicy) -> Part:
    raise TclError("mime::initialize: parsing without -canonical is not supported yet")
