"""The SMTP conversation at protocol level: the session and the conversation
over an in-memory scripted transport (tests/support/scripted_transport.py),
every byte written and read known, no sockets. The same paths against real
servers: test_sendmessage.py, test_fault_matrix.py, test_waits.py."""

from __future__ import annotations

import dataclasses
from collections import deque

import pytest

from tclbridge.mime.initialize import new_part
from tclbridge.smtp.conversation import Command, Conversation
from tclbridge.smtp.envelope import derive
from tclbridge.smtp.options import SendOptions
from tclbridge.smtp.protocol import Reply
from tclbridge.smtp.results import ConnectFailed, Refused, RefusedRecipient, Sent, Step
from tclbridge.smtp.rules import TCLLIB, FinalWait, TcllibRules
from tclbridge.smtp.session import Session, SessionSettings
from tclbridge.smtp.states import (
    TRANSITIONS,
    ConversationStateError,
    Event,
    State,
)
from tclbridge.smtp.transport import EOF_DIAGNOSTIC, TransportTimeout
from tclbridge.tcl.boundary import tcl_outcome
from tests.support.scripted_transport import ScriptedTransport

GREETING = b"220 mx.test ESMTP\r\n"
EHLO = b"250 mx.test\r\n"
OK = b"250 ok\r\n"
GO = b"354 go ahead\r\n"
BYE = b"221 bye\r\n"
BODY = "hello\n.dot\n"


@dataclasses.dataclass
class Run:
    result: Sent | Refused | ConnectFailed
    transport: ScriptedTransport
    log: list[str]


def send(script: list, *, headers: tuple = (("To", "a@x.y"),), rules: TcllibRules = TCLLIB,
         **options: object) -> Run:
    """One sendmessage from me@x.y to `headers`' recipients, the server
    played by `script`."""
    transport = ScriptedTransport(script)
    log: list[str] = []
    opts = SendOptions(servers=["mx.test"], originator="me@x.y", debug=log.append,
                       **options)  # type: ignore[arg-type]
    for name, value in headers:
        opts.add_header(name, value)
    envelope = derive(opts, new_part(canonical="text/plain", string=BODY), user="me")
    settings = SessionSettings(connect=transport.connector, hostname="client.test", rules=rules)
    result: Sent | Refused | ConnectFailed
    try:
        result = Session(opts, envelope, settings).run()
    except (Refused, ConnectFailed) as exc:
        result = exc
    return Run(result, transport, log)


def test_a_send_says_each_command_once_and_reads_every_reply() -> None:
    run = send([GREETING, EHLO, OK, OK, GO, b"250 queued\r\n", BYE])
    assert run.result == Sent(((),))
    commands = run.transport.commands
    assert commands[:4] == ["EHLO client.test", "MAIL FROM:<me@x.y>", "RCPT TO:<a@x.y>", "DATA"]
    assert commands[4].endswith("\r\nhello\r\n..dot\r\n.")  # the message, final dot included
    assert commands[5:] == ["QUIT"]
    assert run.transport.unread == 0 and run.transport.closed
    assert "--> RCPT TO:<a@x.y> (wait upto 3600 seconds)" in run.log
    assert "--> . (wait upto 120 seconds)" in run.log


@pytest.mark.parametrize(("script", "step", "code"), [
    ([GREETING, EHLO, b"553 5.7.1 go away\r\n"], Step.MAIL, 553),
    ([GREETING, EHLO, OK, OK, b"554 no data\r\n"], Step.DATA, 554),
    ([GREETING, EHLO, OK, OK, GO, b"552 too big\r\n"], Step.END_OF_DATA, 552),
])
def test_a_refused_step_aborts_without_waiting(script: list, step: Step, code: int) -> None:
    # Replies to the abort's RSET and QUIT are there, and never read.
    run = send([*script, b"250 reset\r\n", BYE])
    assert isinstance(run.result, Refused)
    assert (run.result.step, run.result.reply and run.result.reply.code) == (step, code)
    assert run.transport.aborted == b"RSET\r\nQUIT\r\n"
    assert run.transport.events[-2:] == ["abort", "close"]
    assert run.transport.unread == 2
    assert run.log[-2:] == ["--> RSET (wait upto 0 seconds)", "--> QUIT (wait upto 0 seconds)"]
    if step is Step.MAIL:
        assert run.result.sender == "me@x.y"


def test_maxsecs_zero_never_reads_the_final_reply() -> None:
    run = send([GREETING, EHLO, OK, OK, GO, b"250 queued\r\n"],
               final_wait=FinalWait("0", None))
    assert isinstance(run.result, Refused)
    assert (run.result.reply, run.result.step, tcl_outcome(run.result).result) == (
        None, Step.END_OF_DATA, "")
    assert "--> . (wait upto 0 seconds)" in run.log
    assert run.transport.unread == 1  # the 250 for the message


def test_refused_recipient_without_atleastone_resets() -> None:
    run = send([GREETING, EHLO, OK, OK, b"550 5.1.1 no such user\r\n", b"250 reset\r\n", BYE],
               headers=(("To", "a@x.y, b@x.y"),))
    assert run.result == Sent(((RefusedRecipient("b@x.y", 550, "5.1.1 no such user"),),))
    assert run.transport.commands[-2:] == ["RSET", "QUIT"]
    assert run.transport.aborted is None


def test_bcc_gets_a_second_transaction_on_the_same_connection() -> None:
    one = [OK, OK, GO, b"250 queued\r\n"]
    run = send([GREETING, EHLO, *one, *one, BYE],
               headers=(("To", "a@x.y"), ("Bcc", "b@x.y")))
    assert run.result == Sent(((), ()))
    rcpts = [c for c in run.transport.commands if c.startswith(("MAIL", "RCPT", "QUIT"))]
    assert rcpts == ["MAIL FROM:<me@x.y>", "RCPT TO:<a@x.y>", "MAIL FROM:<me@x.y>",
                     "RCPT TO:<b@x.y>", "QUIT"]


def test_a_lost_connection_answers_every_later_command_with_400() -> None:
    # The server goes away after MAIL: tcllib still writes each command
    # and gives it a reply with code 400 and the first failure's text.
    run = send([GREETING, EHLO, OK])
    assert run.result == Sent(((RefusedRecipient("a@x.y", 400, EOF_DIAGNOSTIC),),))
    assert run.transport.commands[-3:] == ["RCPT TO:<a@x.y>", "RSET", "QUIT"]
    assert f"    ... {EOF_DIAGNOSTIC} ..." in run.log


def test_auth_exchange_and_starttls_move_through_their_states() -> None:
    script = [GREETING, b"250-mx.test\r\n250 STARTTLS\r\n", b"220 go ahead\r\n",
              b"250-mx.test\r\n250 AUTH PLAIN\r\n", b"334 \r\n", b"235 welcome\r\n",
              OK, OK, GO, b"250 queued\r\n", BYE]
    run = send(script, username="alice", password="s3cret")
    assert run.result == Sent(((),))
    commands = run.transport.commands
    assert commands[:5] == ["EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH PLAIN",
                            "AGFsaWNlAHMzY3JldA=="]
    # TLS once STARTTLS's 220 is read, before the second EHLO is written.
    events = run.transport.events
    tls = events.index("tls")
    assert events[tls - 2:tls + 2] == ["write", "read", "tls", "write"]
    assert events[:tls].count("write") == 2
    assert "--> <hidden> (wait upto 300 seconds)" in run.log
    assert not any("s3cret" in line or "AGFsaWNl" in line for line in run.log)


def test_a_refused_greeting_is_a_connect_failure_with_its_text() -> None:
    run = send([b"421 4.3.2 busy\r\n"])
    assert isinstance(run.result, ConnectFailed)
    assert (run.result.reason, tcl_outcome(run.result).result) == ("4.3.2 busy", "4.3.2 busy")
    assert run.transport.writes == [] and run.transport.closed


def test_the_session_reads_its_waits_and_abort_rules_from_one_object() -> None:
    waits = {**TCLLIB.waits, Event.RCPT: 7, Event.MAIL: 8}
    rules = dataclasses.replace(TCLLIB, waits=waits, abort_commands=(Event.QUIT,))
    run = send([GREETING, EHLO, OK, OK, b"554 no\r\n"], rules=rules)
    assert "--> MAIL FROM:<me@x.y> (wait upto 8 seconds)" in run.log
    assert "--> RCPT TO:<a@x.y> (wait upto 7 seconds)" in run.log
    assert run.transport.aborted == b"QUIT\r\n"
    lost = send([GREETING, EHLO, OK], rules=dataclasses.replace(TCLLIB, lost_code=421))
    assert lost.result == Sent(((RefusedRecipient("a@x.y", 421, EOF_DIAGNOSTIC),),))


# -- the conversation and its state table --------------------------------------------


def conversation(*script: bytes) -> tuple[Conversation, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return Conversation(transport, None, 1.0), transport


def greeted(*script: bytes) -> tuple[Conversation, ScriptedTransport]:
    conv, transport = conversation(GREETING, EHLO, *script)
    conv.greeting(conv.deadline_in(1))
    conv.talk(Command(Event.EHLO, "EHLO c"))
    assert conv.state is State.READY
    return conv, transport


def test_steps_out_of_order_are_refused_before_anything_is_written() -> None:
    conv, transport = conversation(GREETING)
    with pytest.raises(ConversationStateError, match="MAIL is not allowed in state connected"):
        conv.talk(Command(Event.MAIL, "MAIL FROM:<a@b>"))
    conv, transport = greeted(OK, GO)
    for wrong in (Command(Event.RCPT, "RCPT TO:<a@b>"), Command.plain(Event.DATA),
                  Command(Event.EHLO, "EHLO c"), Command(Event.AUTH_RESPONSE, "x")):
        with pytest.raises(ConversationStateError):
            conv.talk(wrong)
    with pytest.raises(ConversationStateError):
        conv.send_message([b"x\r\n.\r\n"], 1024, conv.deadline_in(1))
    assert transport.writes == [b"EHLO c\r\n"]
    conv.talk(Command(Event.MAIL, "MAIL FROM:<a@b>"))
    assert conv.state is State.MAIL
    conv.talk(Command.plain(Event.DATA))
    assert conv.state is State.DATA
    with pytest.raises(ConversationStateError):
        conv.end_reply(conv.deadline_in(1))  # nothing written yet


@pytest.mark.parametrize(("reply", "state"), [(b"550 no\r\n", State.READY),
                                              (b"250 ok\r\n", State.MAIL)])
def test_the_reply_decides_the_next_state(reply: bytes, state: State) -> None:
    conv, _ = greeted(reply)
    conv.talk(Command(Event.MAIL, "MAIL FROM:<a@b>"))
    assert conv.state is state


def test_quit_closes_and_abort_ends_any_state() -> None:
    conv, transport = greeted(BYE)
    conv.talk(Command.plain(Event.QUIT))
    assert conv.state is State.CLOSED
    with pytest.raises(ConversationStateError):
        conv.talk(Command.plain(Event.RSET))
    for reached in (State.CONNECTED, State.READY):
        conv, transport = conversation(GREETING, EHLO)
        if reached is State.READY:
            conv.greeting(conv.deadline_in(1))
            conv.talk(Command(Event.EHLO, "EHLO c"))
        conv.abort()
        assert conv.state is State.CLOSED and transport.aborted == b"RSET\r\nQUIT\r\n"


def test_a_write_that_fails_gets_tcllibs_made_up_reply() -> None:
    conv, transport = greeted()
    transport.closed = True
    reply = conv.talk(Command(Event.MAIL, "MAIL FROM:<a@b>"))
    assert reply == Reply(400, "error writing to server: bad file descriptor", plain=True)
    assert conv.state is State.READY


def test_a_timeout_is_sticky() -> None:
    transport = ScriptedTransport([GREETING, EHLO, TransportTimeout(), OK])
    conv = Conversation(transport, None, 1.0)
    conv.greeting(conv.deadline_in(1))
    conv.talk(Command(Event.EHLO, "EHLO c"))
    first = conv.talk(Command(Event.MAIL, "MAIL FROM:<a@b>"))
    second = conv.talk(Command.plain(Event.QUIT))
    assert first == second == Reply(400, "read from server timed out")
    assert transport.unread == 1  # the late 250 is never taken for a reply


def test_every_state_is_reachable_and_every_move_leads_somewhere() -> None:
    reached, todo = {State.CONNECTED}, deque([State.CONNECTED])
    while todo:
        state = todo.popleft()
        for (source, _), move in TRANSITIONS.items():
            if source is state:
                for target in (move.to, move.otherwise):
                    if target is not None and target not in reached:
                        reached.add(target)
                        todo.append(target)
    assert reached == set(State)
    # Each state but CLOSED has a command or step that leaves it.
    assert {source for source, _ in TRANSITIONS} == set(State) - {State.CLOSED}
