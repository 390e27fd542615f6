"""The states of one SMTP connection and every move between them, in one table.

A conversation starts CONNECTED and moves by events: a command and its
reply, the TLS handshake, the message written. `TRANSITIONS` lists every
event allowed in each state and where its reply leads; anything else is a
bug in the bridge (`ConversationStateError`), never a server's doing:
whatever a server answers, the table has a next state for it. An abort or a
close ends any state. No I/O here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    CONNECTED = "connected"  # no greeting read yet (implicit TLS starts here)
    GREETED = "greeted"  # 220 greeting: EHLO or HELO next
    READY = "ready"  # hello accepted, no transaction open
    TLS_PENDING = "tls-pending"  # STARTTLS accepted: the TLS handshake next
    AUTH_CHALLENGE = "auth-challenge"  # a 334: the next SASL response, or "*"
    MAIL = "mail"  # MAIL FROM accepted: RCPT, DATA or RSET
    DATA = "data"  # DATA's 354: the message may be written
    END_SENT = "end-sent"  # the message and its final dot written: their reply next
    CLOSED = "closed"


class Event(enum.Enum):
    GREETING = "greeting"
    TLS = "TLS handshake"
    EHLO = "EHLO"
    HELO = "HELO"
    ONEX = "ONEX"
    QUED = "QUED"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    AUTH_RESPONSE = "AUTH response"
    AUTH_CANCEL = "AUTH cancel"  # "*" (RFC 4954)
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    MESSAGE = "message"  # the DATA stream, final dot included
    END_REPLY = "reply to the final dot"
    RSET = "RSET"
    QUIT = "QUIT"


@dataclass(frozen=True)
class Move:
    """Where an event leads: to `to` after a reply whose code is in
    `accepted` (or after any, when `accepted` is None), else to
    `otherwise` (None: the state does not change)."""

    to: State
    accepted: frozenset[int] | None = None
    otherwise: State | None = None

    def after(self, state: State, code: int | None) -> State:
        if self.accepted is None or code in self.accepted:
            return self.to
        return state if self.otherwise is None else self.otherwise


def _on(*codes: int) -> frozenset[int]:
    return frozenset(codes)


S, E = State, Event
TRANSITIONS: dict[tuple[State, Event], Move] = {
    (S.CONNECTED, E.TLS): Move(S.CONNECTED),  # -tlsimport: TLS before the greeting
    (S.CONNECTED, E.GREETING): Move(S.GREETED, _on(220)),
    (S.GREETED, E.EHLO): Move(S.READY, _on(250)),
    (S.GREETED, E.HELO): Move(S.READY, _on(250)),  # after EHLO got a 5xx
    (S.READY, E.ONEX): Move(S.READY),
    (S.READY, E.QUED): Move(S.READY),
    (S.READY, E.STARTTLS): Move(S.TLS_PENDING, _on(220)),
    (S.TLS_PENDING, E.TLS): Move(S.GREETED),  # EHLO again, inside TLS
    (S.READY, E.AUTH): Move(S.AUTH_CHALLENGE, _on(334)),
    (S.AUTH_CHALLENGE, E.AUTH_RESPONSE): Move(S.AUTH_CHALLENGE, _on(334), S.READY),
    (S.AUTH_CHALLENGE, E.AUTH_CANCEL): Move(S.READY),
    (S.READY, E.MAIL): Move(S.MAIL, _on(250)),
    (S.MAIL, E.RCPT): Move(S.MAIL),
    (S.MAIL, E.DATA): Move(S.DATA, _on(354)),
    (S.MAIL, E.RSET): Move(S.READY),
    (S.DATA, E.MESSAGE): Move(S.END_SENT),
    (S.END_SENT, E.END_REPLY): Move(S.READY),
    (S.READY, E.QUIT): Move(S.CLOSED),
}
del S, E


class ConversationStateError(RuntimeError):
    """The bridge took a step its state does not allow (a bug)."""


class ConnectionState:
    """Where one connection is; `begin` checks an event, `end` moves on."""

    def __init__(self) -> None:
        self.state = State.CONNECTED

    def begin(self, event: Event) -> Move:
        """The move for `event`; raises if the current state forbids it."""
        move = TRANSITIONS.get((self.state, event))
        if move is None:
            raise ConversationStateError(
                f"{event.value} is not allowed in state {self.state.value}"
            )
        return move

    def end(self, move: Move, code: int | None = None) -> State:
        """Take `move`, given the reply code (None: no reply belongs to it)."""
        self.state = move.after(self.state, code)
        return self.state

    def close(self) -> None:
        self.state = State.CLOSED
