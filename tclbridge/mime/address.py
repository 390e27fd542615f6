"""`mime::parseaddress`: RFC 822 address lists, parsed the way tcllib does.

tcllib's parser is a permissive recursive-descent over a small lexer; it
accepts most broken address syntax and reports problems per address in the
`error` property instead of failing. This is the same grammar, the same
properties and the same error texts.
"""

from __future__ import annotations

import re
import socket

from tclbridge.mime.layout import TCL_SPACE

# Single-character lexemes; the rest of the text is atoms, comments,
# quoted strings and domain literals.
_SPECIALS = {
    ";": "SEMICOLON", ",": "COMMA", "<": "LBRACKET", ">": "RBRACKET", ":": "COLON",
    ".": "DOT", "(": "LPAREN", ")": "RPAREN", "@": "ATSIGN", '"': "QUOTE",
    "[": "LSQUARE", "]": "RSQUARE", "\\": "QUOTE",
}
_ATOM_END = set(_SPECIALS) | {" ", "\t", "\n"}
# The lexer walks the text with an index and finds runs with these (taking
# the rest of the text apart one character at a time copied it each time).
# Both match (maybe nothing) everywhere: their match() is never None,
# hence the type: ignore[union-attr] where they are used.
_SPACE_RUN = re.compile(f"[{re.escape(TCL_SPACE)}]*")
_ATOM_RUN = re.compile(f"[^{re.escape(''.join(sorted(_ATOM_END)))}]*")
PROPERTIES = (
    "address", "comment", "domain", "error", "friendly", "group",
    "local", "memberP", "phrase", "proper", "route",
)


class _Syntax(Exception):
    """A problem with one address (tcllib's return code 7)."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0  # where the input not yet lexed starts
        self.glevel = 0
        self.buffer = ""
        self.last = "END"
        self.state: dict[str, str] = {}
        # The current address's comments, joined by a space when it is done.
        self.comments: list[str] = []

    # -- lexer ----------------------------------------------------------------

    def _next_char(self) -> str:
        c = self.text[self.pos]
        self.pos += 1
        return c

    def lex(self) -> str:
        while True:
            self.pos = _SPACE_RUN.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(self.text):
                self.buffer = "end-of-input"
                self.last = "END"
                return self.last
            c = self._next_char()
            if c == "(":
                if self._comment():
                    continue  # a comment is noted, then skipped
                return self.last
            if c == '"':
                return self._delimited(c, '"', "QSTRING", "quoted-string", skip_first=True)
            if c == "[":
                return self._delimited(c, "]", "DLITERAL", "domain-literal")
            if c in _SPECIALS:
                self.buffer = c
                self.last = _SPECIALS[c]
                return self.last
            start = self.pos - 1
            self.pos = _ATOM_RUN.match(self.text, self.pos).end()  # type: ignore[union-attr]
            self.buffer = self.text[start : self.pos]
            self.last = "ATOM"
            return self.last

    def _comment(self) -> bool:
        depth, quoted, start = 0, False, self.pos - 1
        c = "("
        while True:
            if quoted:
                quoted = False
            elif c == "(":
                depth += 1
            elif c == "\\":
                quoted = True
            elif c == ")":
                depth -= 1
                if depth < 1:
                    self.comments.append(self.text[start : self.pos])
                    return True
            if self.pos >= len(self.text):
                self.buffer = "end-of-input during comment"
                self.last = "ERR"
                return False
            c = self._next_char()

    def _delimited(self, c: str, close: str, kind: str, what: str, skip_first: bool = False) -> str:
        quoted, first, start = False, skip_first, self.pos - 1
        while True:
            if quoted:
                quoted = False
            elif c == "\\":
                quoted = True
            elif c == close:
                if not first:
                    self.buffer = self.text[start : self.pos]
                    self.last = kind
                    return kind
                first = False
            if self.pos >= len(self.text):
                self.buffer = f"end-of-input during {what}"
                self.last = "ERR"
                return self.last
            c = self._next_char()

    # -- grammar --------------------------------------------------------------

    def next_address(self) -> bool:
        for prop in ("comment", "domain", "error", "group", "local", "memberP", "phrase", "route"):
            self.state.pop(prop, None)
        self.comments.clear()
        try:
            if not self.specification():
                return False
            if self.last not in ("COMMA", "END"):
                # pick up a trailing comment without consuming anything else
                saved = self.pos
                self.lex()
                self.pos = saved
        except _Syntax as exc:
            self.state["error"] = str(exc)
            while self.last not in ("COMMA", "END"):
                self.lex()
        if self.comments:
            self.state["comment"] = " ".join(self.comments)
        return True

    def specification(self) -> bool:
        st = self.state
        # Empty list elements are skipped in a loop (tcllib recurses, and
        # fails past about a thousand of them).
        while True:
            saved = self.pos
            kind = self.lex()
            if kind == "SEMICOLON":
                self.glevel -= 1
                if self.glevel < 0:
                    raise _Syntax("extraneous semi-colon")
            elif kind != "COMMA":
                break
            self.comments.clear()
        if kind in ("ATOM", "QSTRING"):
            st["phrase"] = self.buffer
        elif kind == "END":
            return False
        elif kind == "LBRACKET":
            return self.routeaddr()
        elif kind == "ATSIGN":
            self.pos = saved
            return self.routeaddr(check=False)
        else:
            raise _Syntax(f"unexpected character at beginning (found {self.buffer})")

        kind = self.lex()
        if kind in ("ATOM", "QSTRING"):
            st["phrase"] += " " + self.buffer
            return self.phrase()
        if kind == "LBRACKET":
            return self.routeaddr()
        if kind == "COLON":
            return self.group()
        if kind == "DOT":
            st["local"] = st.pop("phrase") + self.buffer
            self.routeaddr(check=False)
            self.end()
        elif kind == "ATSIGN":
            st["memberP"] = str(self.glevel)
            st["local"] = st.pop("phrase")
            self.domain()
            self.end()
        elif kind in ("SEMICOLON", "COMMA", "END"):
            st["memberP"] = str(self.glevel)
            if self.last == "SEMICOLON":
                self.glevel -= 1
                if self.glevel < 0:
                    raise _Syntax("extraneous semi-colon")
            st["local"] = st.pop("phrase")
        else:
            raise _Syntax(f"expecting mailbox (found {self.buffer})")
        return True

    def routeaddr(self, check: bool = True) -> bool:
        saved = self.pos
        if self.lex() == "ATSIGN":
            self.route()
        else:
            self.pos = saved
        self.local()
        if self.last == "ATSIGN":
            self.domain()
        elif self.last not in ("SEMICOLON", "RBRACKET", "COMMA", "END"):
            raise _Syntax(f"expecting at-sign after local-part (found {self.buffer})")
        if check and self.last != "RBRACKET":
            raise _Syntax(f"expecting right-bracket (found {self.buffer})")
        return True

    # The parts of route, domain, local and phrase are collected in lists and
    # joined once (also when a syntax error stops the address, whose parts
    # so far are still reported): appending to a string each time is
    # quadratic in the number of parts.

    def route(self) -> None:
        hops = ["@"]
        try:
            while True:
                if self.lex() not in ("ATOM", "DLITERAL"):
                    raise _Syntax(f"expecting sub-route in route-part (found {self.buffer})")
                hops.append(self.buffer)
                kind = self.lex()
                if kind == "COMMA":
                    hops.append(self.buffer)
                    while True:
                        kind = self.lex()
                        if kind == "COMMA":
                            continue
                        if kind == "ATSIGN":
                            hops.append(self.buffer)
                            break
                        raise _Syntax(f"expecting at-sign in route (found {self.buffer})")
                elif kind in ("ATSIGN", "DOT"):
                    hops.append(self.buffer)
                elif kind == "COLON":
                    hops.append(self.buffer)
                    return
                else:
                    raise _Syntax(f"expecting colon to terminate route (found {self.buffer})")
        finally:
            self.state["route"] = "".join(hops)

    def domain(self) -> None:
        st = self.state
        domain = [st["domain"]] if "domain" in st else []
        local: list[str] | None = None  # "local%domain" when another "@" follows
        try:
            while True:
                if self.lex() not in ("ATOM", "DLITERAL"):
                    raise _Syntax(f"expecting sub-domain in domain-part (found {self.buffer})")
                domain.append(self.buffer)
                kind = self.lex()
                if kind == "DOT":
                    domain.append(self.buffer)
                elif kind == "ATSIGN":
                    if local is None:
                        local = [st.get("local", "")]
                    local.append("%")
                    local.extend(domain)
                    domain = []
                else:
                    return
        finally:
            if local is not None:
                st["local"] = "".join(local)
            if domain:
                st["domain"] = "".join(domain)
            else:
                st.pop("domain", None)

    def local(self) -> None:
        st = self.state
        st["memberP"] = str(self.glevel)
        pieces = [st.get("local", "")]
        try:
            while True:
                if self.lex() not in ("ATOM", "QSTRING"):
                    raise _Syntax(f"expecting mailbox in local-part (found {self.buffer})")
                pieces.append(self.buffer)
                if self.lex() == "DOT":
                    pieces.append(self.buffer)
                else:
                    return
        finally:
            st["local"] = "".join(pieces)

    def phrase(self) -> bool:
        st = self.state
        words = [st["phrase"]]
        # A "." continues the phrase (tcllib recurses there).
        while True:
            while self.lex() in ("ATOM", "QSTRING"):
                words += (" ", self.buffer)
            if self.last != "DOT":
                break
            words.append(self.buffer)
        st["phrase"] = "".join(words)
        if self.last == "LBRACKET":
            return self.routeaddr()
        if self.last == "COLON":
            return self.group()
        raise _Syntax(f"found phrase instead of mailbox ({st['phrase']}{self.buffer})")

    def group(self) -> bool:
        st = self.state
        self.glevel += 1
        if self.glevel > 1:
            raise _Syntax(f"nested groups not allowed (found {st['phrase']})")
        st["group"] = st.pop("phrase")
        saved = self.pos
        while True:
            kind = self.lex()
            if kind in ("SEMICOLON", "END"):
                self.glevel = 0
                return True
            if kind != "COMMA":
                self.pos = saved
                return self.specification()

    def end(self) -> None:
        if self.last == "SEMICOLON":
            self.glevel -= 1
            if self.glevel < 0:
                raise _Syntax("extraneous semi-colon")
        elif self.last not in ("COMMA", "END"):
            raise _Syntax(f"junk after local@domain (found {self.buffer})")


def _x400(mbox: str, key: str) -> str:
    at = mbox.upper().find(f"/{key}=")
    if at < 0:
        return ""
    mbox = mbox[at + len(key) + 2 :]
    slash = mbox.find("/")
    if slash > 0:
        mbox = mbox[:slash]
    return mbox.strip('"')


def _friendly(st: dict[str, str]) -> str:
    friendly = st["phrase"]
    if not friendly:
        note = st["comment"]
        if note:
            if note.startswith("("):
                note = note[1:].lstrip(TCL_SPACE)
            if note.rfind(")") == len(note) - 1:
                note = note[:-1]
            friendly = note
        if not friendly and st["local"]:
            mbox = st["local"].strip('"')
            if not mbox.startswith("/"):
                friendly = mbox
            elif name := _x400(mbox, "PN"):
                friendly = name
            else:
                friendly = _x400(mbox, "S")
                if friendly and (given := _x400(mbox, "G")):
                    friendly = f"{given} {friendly}"
            if not friendly:
                friendly = mbox
    return friendly.strip('"')


def parse_address(text: str, hostname: str | None = None) -> list[dict[str, str]]:
    """`mime::parseaddress`: one dict of properties per address."""
    parser = _Parser(text)
    host = hostname if hostname is not None else socket.gethostname()
    result = []
    while parser.next_address():
        st = parser.state
        for prop in ("comment", "domain", "error", "group", "local", "memberP", "phrase", "route"):
            st.setdefault(prop, "")
        address = st["local"]
        if address:
            address += "@" + (st["domain"] or host)
        if st["phrase"]:
            phrase = st["phrase"].strip('"')
            if any(c in phrase for c in _SPECIALS):
                phrase = f'"{phrase}"'
            st["phrase"] = phrase
            proper = f"{phrase} <{address}>"
        else:
            proper = address
        entry = {
            "address": address, "comment": st["comment"], "domain": st["domain"],
            "error": st["error"], "friendly": _friendly(st), "group": st["group"],
            "local": st["local"], "memberP": st["memberP"], "phrase": st["phrase"],
            "proper": proper, "route": st["route"],
        }
        result.append(entry)
    return result
