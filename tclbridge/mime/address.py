"""`mime::parseaddress`: RFC 822 address lists, parsed the way tcllib does.

tcllib's parser is a permissive recursive-descent over a small lexer; it
accepts most broken address syntax and reports problems per address in the
`error` property instead of failing. This is the same grammar, the same
properties and the same error texts.
"""

from __future__ import annotations

import socket

from tclbridge.mime.policy import TCL_SPACE

# Single-character lexemes; the rest of the text is atoms, comments,
# quoted strings and domain literals.
_SPECIALS = {
    ";": "SEMICOLON", ",": "COMMA", "<": "LBRACKET", ">": "RBRACKET", ":": "COLON",
    ".": "DOT", "(": "LPAREN", ")": "RPAREN", "@": "ATSIGN", '"': "QUOTE",
    "[": "LSQUARE", "]": "RSQUARE", "\\": "QUOTE",
}
_ATOM_END = set(_SPECIALS) | {" ", "\t", "\n"}
PROPERTIES = (
    "address", "comment", "domain", "error", "friendly", "group",
    "local", "memberP", "phrase", "proper", "route",
)


class _Syntax(Exception):
    """A problem with one address (tcllib's return code 7)."""


class _Parser:
    def __init__(self, text: str) -> None:
        # The text and a position in it: the lexer never copies the rest of
        # the input (which made long addresses quadratic).
        self.text = text
        self.pos = 0
        self.glevel = 0
        self.buffer = ""
        self.last = "END"
        self.state: dict[str, str] = {}

    # -- lexer ----------------------------------------------------------------

    def lex(self) -> str:
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos] in TCL_SPACE:
                self.pos += 1
            if self.pos >= len(text):
                self.buffer = "end-of-input"
                self.last = "END"
                return self.last
            c = text[self.pos]
            self.pos += 1
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
            end = self.pos
            while end < len(text) and text[end] not in _ATOM_END:
                end += 1
            self.buffer = c + text[self.pos:end]
            self.pos = end
            self.last = "ATOM"
            return self.last

    def _comment(self) -> bool:
        depth, quoted, text = 0, False, []
        c = "("
        while True:
            text.append(c)
            if quoted:
                quoted = False
            elif c == "(":
                depth += 1
            elif c == "\\":
                quoted = True
            elif c == ")":
                depth -= 1
                if depth < 1:
                    note = "".join(text)
                    old = self.state.get("comment")
                    self.state["comment"] = note if old is None else f"{old} {note}"
                    return True
            if self.pos >= len(self.text):
                self.buffer = "end-of-input during comment"
                self.last = "ERR"
                return False
            c = self.text[self.pos]
            self.pos += 1

    def _delimited(self, c: str, close: str, kind: str, what: str, skip_first=False) -> str:
        text, quoted, first = [], False, skip_first
        while True:
            text.append(c)
            if quoted:
                quoted = False
            elif c == "\\":
                quoted = True
            elif c == close:
                if not first:
                    self.buffer = "".join(text)
                    self.last = kind
                    return kind
                first = False
            if self.pos >= len(self.text):
                self.buffer = f"end-of-input during {what}"
                self.last = "ERR"
                return self.last
            c = self.text[self.pos]
            self.pos += 1

    # -- grammar --------------------------------------------------------------

    def next_address(self) -> bool:
        for prop in ("comment", "domain", "error", "group", "local", "memberP", "phrase", "route"):
            self.state.pop(prop, None)
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
        return True

    def specification(self) -> bool:
        st = self.state
        saved = self.pos
        kind = self.lex()
        if kind in ("ATOM", "QSTRING"):
            st["phrase"] = self.buffer
        elif kind == "SEMICOLON":
            self.glevel -= 1
            if self.glevel < 0:
                raise _Syntax("extraneous semi-colon")
            st.pop("comment", None)
            return self.specification()
        elif kind == "COMMA":
            st.pop("comment", None)
            return self.specification()
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

    def route(self) -> None:
        st = self.state
        st["route"] = "@"
        while True:
            if self.lex() not in ("ATOM", "DLITERAL"):
                raise _Syntax(f"expecting sub-route in route-part (found {self.buffer})")
            st["route"] += self.buffer
            kind = self.lex()
            if kind == "COMMA":
                st["route"] += self.buffer
                while True:
                    kind = self.lex()
                    if kind == "COMMA":
                        continue
                    if kind == "ATSIGN":
                        st["route"] += self.buffer
                        break
                    raise _Syntax(f"expecting at-sign in route (found {self.buffer})")
            elif kind in ("ATSIGN", "DOT"):
                st["route"] += self.buffer
            elif kind == "COLON":
                st["route"] += self.buffer
                return
            else:
                raise _Syntax(f"expecting colon to terminate route (found {self.buffer})")

    def domain(self) -> None:
        # Pieces are joined once at the end (or on error): a str kept in a
        # dict is copied by every +=.
        st = self.state
        parts = [st.pop("domain")] if "domain" in st else []
        local = None
        try:
            while True:
                if self.lex() not in ("ATOM", "DLITERAL"):
                    raise _Syntax(f"expecting sub-domain in domain-part (found {self.buffer})")
                parts.append(self.buffer)
                kind = self.lex()
                if kind == "DOT":
                    parts.append(self.buffer)
                elif kind == "ATSIGN":
                    local = local or [st.pop("local", "")]
                    local += ["%", *parts]
                    parts = []
                else:
                    return
        finally:
            if parts:
                st["domain"] = "".join(parts)
            if local is not None:
                st["local"] = "".join(local)

    def local(self) -> None:
        st = self.state
        st["memberP"] = str(self.glevel)
        parts = [st.pop("local")] if "local" in st else []
        try:
            while True:
                if self.lex() not in ("ATOM", "QSTRING"):
                    raise _Syntax(f"expecting mailbox in local-part (found {self.buffer})")
                parts.append(self.buffer)
                if self.lex() == "DOT":
                    parts.append(self.buffer)
                else:
                    return
        finally:
            if parts:
                st["local"] = "".join(parts)

    def phrase(self) -> bool:
        st = self.state
        while self.lex() in ("ATOM", "QSTRING"):
            st["phrase"] += " " + self.buffer
        if self.last == "LBRACKET":
            return self.routeaddr()
        if self.last == "COLON":
            return self.group()
        if self.last == "DOT":
            st["phrase"] += self.buffer
            return self.phrase()
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
