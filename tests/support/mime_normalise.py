"""What makes tcllib's MIME output comparable with the bridge's.

`mask` replaces the values that are random by design (Content-ID and
Message-ID values, generated boundaries) by ordinals in order of appearance.
`fix_tcllib_170` applies to tcllib 1.7.0's output the two intended
differences of docs/COMPAT.md, `boundary-once` and `cte-once`, so that it
reads as 1.7.2 writes it. Both work on a whole message or on any text that
holds one (a Tcl result list), with CRLF or LF line ends.
"""

from __future__ import annotations

import re

_UNIQUE = re.compile(r"<\d+\.\d+\.\d+@[^>\s]+>")
_BOUNDARY = re.compile(r"----- =_[A-Za-z0-9+/]+=*")


def _ordinals(pattern: re.Pattern[str], label: str, text: str) -> str:
    seen: dict[str, str] = {}

    def repl(found: re.Match[str]) -> str:
        return seen.setdefault(found.group(), f"{label}{len(seen) + 1}")

    return pattern.sub(repl, text)


def mask(text: str) -> str:
    text = _ordinals(_UNIQUE, "<UNIQUE", text)
    return _ordinals(_BOUNDARY, "BOUNDARY", text)


# A Content-Type header with its continuation lines.
_CT_BLOCK = re.compile(r"Content-Type: [^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*")
# 1.7.0 writes the boundary parameter again, on a line of its own, after Content-Type.
_EXTRA_BOUNDARY = re.compile(r';\r?\n {14}(boundary="[^"]*")\r?\n')
_LAST_BOUNDARY = re.compile(r';\r?\n {14}boundary="----- =_[^"]*"(\r?\n)$')
_GENERATED = re.compile(r'boundary="----- =_[^"]*"')
_CTE_LINE = re.compile(r"Content-Transfer-Encoding: [^\r\n]*\r?\n")
_BLANK_LINE = re.compile(r"\r?\n\r?\n")


def fix_tcllib_170(text: str) -> str:
    """tcllib 1.7.0's buildmessage output as 1.7.2 with `cte-once` writes it."""
    out: list[str] = []
    pos = 0
    for block in _CT_BLOCK.finditer(text):
        if block.start() < pos:
            continue
        out.append(text[pos : block.start()])
        head = block.group()
        newline = "\r\n" if head.endswith("\r\n") else "\n"
        pos = block.end()
        extra = _EXTRA_BOUNDARY.match(text, pos)
        if head.count("boundary=") > 1 and not extra:
            # Its Content-Type sees an empty last parameter as "no boundary"
            # and adds a made-up one, last; the body uses the given one.
            # (With the line after it, the first "boundary=" is only text
            # in the content type given, and the body uses the made-up one.)
            head = _LAST_BOUNDARY.sub(r"\1", head)
        if extra:  # boundary-once
            pos = extra.end()
            if "boundary=" not in head:
                # Left out of Content-Type: 1.7.2 has it there, last.
                head = head[: -len(newline)] + f";{newline}              {extra.group(1)}{newline}"
            else:
                # Both made up from [clock seconds]: when a second ticked
                # in between, Content-Type names another boundary than the
                # one the body uses. 1.7.2 makes one, used for both.
                head = _GENERATED.sub(extra.group(1), head)
        else:
            cte = _CTE_LINE.match(text, pos)
            if cte and cte.group() in _BLANK_LINE.split(text[: block.start()])[-1]:
                pos = cte.end()  # cte-once: the copy after Content-Type
        out.append(head)
    out.append(text[pos:])
    return "".join(out)
