"""AUTH as tcllib does it: the mechanisms the server offers, strongest
first; a failure falls through to the next; if all fail, carry on
unauthenticated. Client payloads never reach the -debug log."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable, Sequence

from tclbridge.smtp.conversation import Command, Conversation
from tclbridge.smtp.protocol import Reply, reply_text
from tclbridge.smtp.sasl import (
    Mechanism,
    SaslError,
    auth_command,
    choose,
    client_mechanisms,
    decode_challenge,
    encode_response,
)
from tclbridge.smtp.states import Event

TOKEN_CMD_ENV = "TCLBRIDGE_OAUTH2_TOKEN_CMD"
TOKEN_CMD_TIMEOUT = 60


def offered_mechanisms(esmtp: Sequence[str]) -> list[str] | None:
    """The mechanism names of the first EHLO line that starts with AUTH
    (tcllib's rule, which also takes the old "AUTH=..." form)."""
    for line in esmtp:
        if line.startswith("AUTH"):
            return line[5:].split()
    return None


def oauth_token_from_env() -> str:
    """Run the command in TCLBRIDGE_OAUTH2_TOKEN_CMD; its output is the token."""
    return run_token_command(os.environ[TOKEN_CMD_ENV], TOKEN_CMD_ENV)


def run_token_command(command: str, name: str) -> str:
    """Run a token command (`name` says where it came from, for errors)."""
    try:
        done = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=TOKEN_CMD_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise SaslError(f"{name} did not finish in {TOKEN_CMD_TIMEOUT} s") from None
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        raise SaslError(f"{name} failed (exit status {done.returncode})")
    return token


def mechanisms_for(
    username: str, password: str, token_command: str | None = None
) -> list[Mechanism]:
    """`token_command` (the site policy's) comes before TCLBRIDGE_OAUTH2_TOKEN_CMD."""
    oauth: Callable[[], str] | None = None
    if token_command:
        oauth = functools.partial(
            run_token_command, token_command, "the policy's oauth_token_command"
        )
    elif os.environ.get(TOKEN_CMD_ENV):
        oauth = oauth_token_from_env
    # tcllib sends PLAIN without an initial response and DIGEST-MD5 with its
    # realm as digest-uri host; servers accept both, so keep its wire form.
    return client_mechanisms(username, password, oauth, initial_response=False)


def authenticate(conv: Conversation, offered: Sequence[str], mechanisms: list[Mechanism]) -> bool:
    """Try each offered mechanism in turn; True once one succeeded."""
    for mech in choose(offered, mechanisms):
        try:
            reply = _exchange(conv, mech)
            if reply.code == 235:
                mech.verify_final(b"")
                return True
            detail = reply_text(reply)
        except SaslError as exc:
            detail = str(exc)
        conv.log(f"AUTH {mech.name} failed: {detail} ")
    return False


def _exchange(conv: Conversation, mech: Mechanism) -> Reply:
    command = auth_command(mech)
    shown = command if command == f"AUTH {mech.name}" else f"AUTH {mech.name} <hidden>"
    reply = conv.talk(Command(Event.AUTH, command, shown))
    while reply.code == 334:
        try:
            answer = mech.step(decode_challenge(reply.diagnostic))
        except SaslError:
            # RFC 4954: "*" cancels the exchange; the server answers 501.
            reply = conv.talk(Command(Event.AUTH_CANCEL, "*"))
            raise
        reply = conv.talk(Command(Event.AUTH_RESPONSE, encode_response(answer), "<hidden>"))
    return reply
