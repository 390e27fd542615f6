"""Reading Tcl source without running it: scripts as commands and words,
following Tcl's word rules (braces, quotes, [command substitution],
$variables, {*}, comments, backslash-newline), for `tclbridge scan`.

A word keeps its literal value when it has no substitution, the variable's
name when it is exactly one $variable, the text of a braced word (which a
caller may read as a script in turn) and the scripts of its [command
substitutions]. Nesting is bounded (`MAX_DEPTH`), so hostile text cannot
exhaust the stack.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

# Braced words inside braced words read as scripts, and nested [...], at most.
MAX_DEPTH = 40


@dataclass
class Word:
    line: int
    literal: str | None = None  # the value, when the word has no substitution
    var: str | None = None  # the name, when the word is exactly one $variable
    braced: str | None = None  # the text between the braces of a braced word
    body_line: int = 0  # the line where `braced` starts
    scripts: list[list[Command]] = field(default_factory=list)  # [command substitutions]
    expand: bool = False  # {*}
    fixed: str = ""  # the word's own characters, substitutions left out ("$d/x" -> "/x")


@dataclass
class Command:
    line: int
    words: list[Word]


_VAR_NAME = re.compile(r"(?:::)*[A-Za-z0-9_]+(?:::+[A-Za-z0-9_]+)*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


class _Parser:
    """Tcl's word rules, enough to find commands and their literal words."""

    def __init__(self, text: str, first_line: int = 1) -> None:
        self.s = text
        self.i = 0
        self.first_line = first_line
        self.nesting = 0  # [command substitutions] open around the current word
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int) -> int:
        return self.first_line + bisect.bisect_left(self.newlines, pos)

    def _at(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def script(self, close: str = "") -> list[Command]:
        commands: list[Command] = []
        while self.i < len(self.s):
            c = self._at()
            if c in " \t\r\n;" or (c == "\\" and self._at(1) == "\n"):
                self.i += 2 if c == "\\" else 1
            elif close and c == close:
                self.i += 1
                return commands
            elif c == "#":
                self._skip_comment()
            else:
                command = self._command(close)
                if command.words:
                    commands.append(command)
        return commands

    def _skip_comment(self) -> None:
        while self.i < len(self.s) and self._at() != "\n":
            self.i += 2 if self._at() == "\\" else 1

    def _command(self, close: str) -> Command:
        command = Command(self.line(self.i), [])
        while self.i < len(self.s):
            c = self._at()
            if c in " \t\r" or (c == "\\" and self._at(1) == "\n"):
                self.i += 2 if c == "\\" else 1
            elif c in "\n;" or (close and c == close):
                break
            else:
                command.words.append(self._word(close))
        return command

    def _word(self, close: str) -> Word:
        expand = self.s.startswith("{*}", self.i) and self._at(3) not in ("", " ", "\t", "\n", ";")
        if expand:
            self.i += 3
        word = Word(self.line(self.i), expand=expand)
        if self._at() == "{":
            start = self.i + 1
            self._skip_balanced("{", "}", backslash=True)
            word.braced = word.literal = word.fixed = self.s[start:self.i - 1]
            word.body_line = self.line(start)
            if self._at() not in ("", " ", "\t", "\r", "\n", ";", close):
                self._rest_of_word(word, close, quoted=False, value=[word.literal])
            return word
        quoted = self._at() == '"'
        if quoted:
            self.i += 1
        self._rest_of_word(word, close, quoted, value=[])
        return word

    def _skip_balanced(self, opening: str, closing: str, backslash: bool) -> None:
        """From an `opening` character, skip past its matching `closing` one
        (or to the end); with `backslash`, a backslash hides the next one.

        A regex jumps to the next character that matters: each level of
        nested braces is read again as a script (up to MAX_DEPTH times), so
        a Python step per character made deep nesting slow."""
        stops = _stops(opening, closing, backslash)
        depth = 0
        while self.i < len(self.s):
            found = stops.search(self.s, self.i)
            if found is None:
                self.i = len(self.s)
                return
            c = found.group()
            self.i = found.end()
            if c == "\\":
                self.i += 1
            elif c == opening:
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return

    def _rest_of_word(self, word: Word, close: str, quoted: bool, value: list[str]) -> None:
        substituted = False
        pieces = 0
        while self.i < len(self.s):
            c = self._at()
            if quoted and c == '"':
                self.i += 1
                break
            if not quoted and (c in " \t\r\n;" or (close and c == close)):
                break
            if not quoted and c == "\\" and self._at(1) == "\n":
                break
            pieces += 1
            if c == "\\":
                nxt = self._at(1)
                value.append(_ESCAPES.get(nxt, nxt))
                self.i += 2
            elif c == "[" and self.nesting < MAX_DEPTH:
                self.i += 1
                self.nesting += 1
                word.scripts.append(self.script("]"))
                self.nesting -= 1
                substituted = True
            elif c == "$" and (name := self._variable()) is not None:
                substituted = True
                if name and pieces == 1 and self._word_ends(quoted, close):
                    word.var = name
            else:
                value.append(c)
                self.i += 1
        word.fixed = "".join(value)
        word.literal = None if substituted else word.fixed

    def _word_ends(self, quoted: bool, close: str) -> bool:
        c = self._at()
        if quoted:
            return c == '"'
        return c in ("", " ", "\t", "\r", "\n", ";") or bool(close and c == close)

    def _variable(self) -> str | None:
        """After a "$": skip the variable and return its name ("" for an
        array element); None when the "$" is a plain character."""
        if self._at(1) == "{":
            end = self.s.find("}", self.i + 2)
            end = len(self.s) if end < 0 else end
            name = self.s[self.i + 2:end]
            self.i = end + 1
            return name
        match = _VAR_NAME.match(self.s, self.i + 1)
        if match is None:
            return None
        self.i = match.end()
        if self._at() == "(":
            self._skip_balanced("(", ")", backslash=False)
            return ""  # an array element: not a list we can follow
        return match.group()


@functools.lru_cache(maxsize=4)
def _stops(opening: str, closing: str, backslash: bool) -> re.Pattern[str]:
    return re.compile("[" + re.escape(opening + closing + ("\\" if backslash else "")) + "]")


def parse_script(text: str, first_line: int = 1) -> list[Command]:
    return _Parser(text, first_line).script()


def split_list(text: str, line: int) -> list[Word]:
    """A literal Tcl list as words (close enough: a ";" or a leading "#" in
    an element would be read as Tcl reads a script)."""
    return [w for c in parse_script(text, line) for w in c.words]
