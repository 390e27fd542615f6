"""Token names after smtp::sendmessage are tcllib's.

tcllib's sendmessage calls `mime::parseaddress` (2 to 4 times: originator,
From, Bcc, recipients) and, for Bcc, `mime::initialize` twice (the digest);
each call uses up a token number, so the script's next token is named after
them. Programs log token names, so the bridge uses up the same numbers on
every path, stopping where tcllib stops.

Each test runs one script under tclsh + tcllib and under `tclbridge run`,
each against its own recording servers on 127.0.0.1. After every send the
script prints what happened (return code, refused recipients or reply code
or error), the name `mime::initialize` gives next, and the counter
`mime::uniqueID` has reached (Message-ID and Content-ID use it). The two
outputs must be equal line for line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tclbridge.recorder import ServerScript
from tests.support.reference_runs import HAVE_TCLSH, run

pytestmark = pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")

# The servers, in the order of their ports on the command line.
SERVERS = {
    "ok": ServerScript(replies={"RCPT:<bad@x.y>": "550 no such user",
                                "RCPT:<bad2@x.y>": "550 no such user"}),
    "mailno": ServerScript(replies={"MAIL": "550 go away"}),
    "datano": ServerScript(replies={"DATA": "554 no data"}),
    "dotno": ServerScript(replies={"DOT": "554 rejected"}),
    "busy": ServerScript(greeting="421 busy"),
    "helono": ServerScript(ehlo=["500 no"], replies={"HELO": "500 no"}),
}

PRELUDE = r"""
package require mime
package require smtp
set host [lindex $argv 0]
foreach name {SERVER_NAMES} p [lrange $argv 1 end] { set port($name) $p }
# A port nobody listens on.
set l [socket -server {apply {{c a p} {close $c}}} -myaddr $host 0]
set port(dead) [lindex [fconfigure $l -sockname] 2]
close $l

proc summary {code result} {
    switch -- $code {
        0 {
            # With Bcc, tcllib joins two lists as strings: not always a list.
            if {[catch {lmap item $result {lindex $item 0}} addresses]} {
                return "not a list: $result"
            }
            return $addresses
        }
        7 { return [expr {[dict exists $result code] ? [dict get $result code] : "-"}] }
    }
    # The texts of a failed connection differ (COMPAT connect-error-text).
    if {[string match *socket* $result]} { return "no connection" }
    # tcllib quotes the option list (and so the port) back in some errors.
    global port
    foreach {name number} [array get port] { lappend ports $number PORT }
    return [string map $ports $result]
}

# Send a new part (or TOKEN, with "-part TOKEN" first) through the server
# named SERVER, then print what a program logging its tokens would see.
proc send {name server args} {
    global host port
    if {[lindex $args 0] eq "-part"} {
        set msg [lindex $args 1]
        set args [lrange $args 2 end]
    } else {
        set msg [mime::initialize -canonical text/plain -string body]
    }
    set code [catch {
        smtp::sendmessage $msg -servers $host -ports $port($server) {*}$args
    } result]
    set next [mime::initialize -canonical text/plain -string x]
    set unique [lindex [split [mime::uniqueID] .] 2]
    puts "$name: $code {[summary $code $result]} next $next uniqueID $unique"
    mime::finalize $next
}
""".replace("SERVER_NAMES", " ".join(SERVERS))

# Options, addresses and the part: what tcllib parses before it connects,
# and where an error stops it.
DERIVATION = r"""
set O {-originator a@x.y}
send originator-recipients ok {*}$O -recipients b@x.y
send originator-to ok {*}$O -header {To b@x.y}
send to-cc-dcc ok {*}$O -header {To b@x.y} -header {cc c@x.y} -header {Dcc d@x.y}
send from-header ok -header {From a@x.y} -header {To b@x.y}
send from-differs ok {*}$O -header {From c@x.y} -header {To b@x.y}
send from-differs-same-address ok {*}$O -header {From {A <a@x.y>}} -header {To b@x.y}
send from-differs-sender-given ok {*}$O -header {From c@x.y} -header {Sender c@x.y} \
    -header {To b@x.y}
send user-as-originator ok -header {To b@x.y}
send null-originator ok -originator {} -header {To b@x.y}
send null-originator-from ok -originator {} -header {From c@x.y} -header {To b@x.y}
send resent ok {*}$O -header {To q@x.y} -header {Resent-To b@x.y} -header {Resent-From c@x.y}
send date-and-id-given ok {*}$O -header {To b@x.y} -header {Date {Mon, 1 Jan 2024 00:00:00 +0000}} \
    -header {Message-ID <1@x.y>}
send no-to ok {*}$O
send no-to-null-originator ok -originator {}
send bad-originator ok -originator <<< -header {To b@x.y}
send two-originators ok -originator {a@x.y, b@x.y} -header {To b@x.y}
send two-from ok -header {From {a@x.y, c@x.y}} -header {To b@x.y}
send bad-from ok {*}$O -header {From <<<} -header {To b@x.y}
send bad-bcc ok {*}$O -header {To b@x.y} -header {Bcc <<<}
send bad-recipient ok {*}$O -header {To <<<}
send bad-recipients-option ok {*}$O -recipients <<< -header {Bcc c@x.y}
send bad-resent-to ok {*}$O -header {Resent-To <<<} -header {To b@x.y}
send unknown-option ok -foo bar
send odd-options ok -originator
send bad-boolean ok -atleastone maybe {*}$O -recipients b@x.y
send header-no-value ok -header {To} {*}$O
send protected-header ok -header {Content-Type text/html} {*}$O -recipients b@x.y
send maxsecs-nan ok -maxsecs nan {*}$O -recipients b@x.y
send gone-token ok -part ::mime::999999 {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send gone-token-bad-address ok -part ::mime::999999 {*}$O -header {To <<<}
send gone-token-id-given ok -part ::mime::999999 {*}$O -header {To b@x.y} \
    -header {Message-ID <1@x.y>} -header {Date {Mon, 1 Jan 2024 00:00:00 +0000}}
"""

# What the servers answer: the numbers tcllib uses up do not depend on it
# without Bcc.
REPLIES = r"""
set O {-originator a@x.y}
send accepted ok {*}$O -header {To b@x.y}
send one-refused ok {*}$O -header {To {bad@x.y, b@x.y}}
send one-refused-atleastone ok {*}$O -header {To {bad@x.y, b@x.y}} -atleastone 1
send all-refused ok {*}$O -header {To {bad@x.y, bad2@x.y}}
send mail-refused mailno {*}$O -header {To b@x.y}
send data-refused datano {*}$O -header {To b@x.y}
send dot-refused dotno {*}$O -header {To b@x.y}
send no-wait-for-dot ok {*}$O -header {To b@x.y} -maxsecs 0
send no-server dead {*}$O -header {To b@x.y}
send greeting-refused busy {*}$O -header {To b@x.y}
send helo-refused helono {*}$O -header {To b@x.y}
send failover busy {*}$O -header {To b@x.y} -servers [list $host $host] \
    -ports [list $port(busy) $port(ok)]
"""

# Bcc: the digest's two parts are made only when the first transaction
# ends with code 0 (refused recipients included), never after code 7 or a
# failed connection.
BCC = r"""
set O {-originator a@x.y}
send bcc ok {*}$O -header {To b@x.y} -header {Bcc c@x.y} -header {Subject s}
send bcc-empty ok {*}$O -header {To b@x.y} -header {Bcc {}}
send bcc-no-to ok {*}$O -header {Bcc c@x.y}
send bcc-recipients-option ok {*}$O -recipients b@x.y -header {Bcc c@x.y}
send bcc-from-differs ok {*}$O -header {From c@x.y} -header {To b@x.y} -header {Bcc d@x.y}
send bcc-null-originator ok -originator {} -header {To b@x.y} -header {Bcc c@x.y}
send bcc-one-refused ok {*}$O -header {To {bad@x.y, b@x.y}} -header {Bcc c@x.y}
send bcc-one-refused-atleastone ok {*}$O -header {To {bad@x.y, b@x.y}} -header {Bcc c@x.y} \
    -atleastone 1
send bcc-all-refused ok {*}$O -header {To bad@x.y} -header {Bcc c@x.y}
send bcc-refused-bcc ok {*}$O -header {To b@x.y} -header {Bcc bad@x.y}
send bcc-mail-refused mailno {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send bcc-data-refused datano {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send bcc-dot-refused dotno {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send bcc-no-wait-for-dot ok {*}$O -header {To b@x.y} -header {Bcc c@x.y} -maxsecs 0
send bcc-no-server dead {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send bcc-greeting-refused busy {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send bcc-helo-refused helono {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send resent-bcc ok {*}$O -header {Resent-To b@x.y} -header {Resent-Bcc c@x.y} \
    -header {Subject s}
send bcc-and-resent-bcc ok {*}$O -header {To b@x.y} -header {Bcc c@x.y} \
    -header {Resent-To b@x.y}
"""


def _lines(output: str) -> list[str]:
    return output.splitlines()


def _same_as_tcllib(tmp_path: Path, body: str, **kwargs: object) -> list[str]:
    """Run PRELUDE + body under both; assert equal output; return tcllib's lines."""
    script = tmp_path / "tokens.tcl"
    script.write_text(PRELUDE + body)
    servers = list(SERVERS.values())
    tcllib = run(script, bridge=False, servers=servers)
    bridge = run(script, bridge=True, servers=servers, **kwargs)  # type: ignore[arg-type]
    assert tcllib.exit == 0, tcllib.stderr
    assert bridge.exit == 0, bridge.stderr
    sends = [line for line in body.splitlines() if line.startswith("send ")]
    assert len(_lines(tcllib.stdout)) == len(sends), tcllib.stdout
    assert _lines(bridge.stdout) == _lines(tcllib.stdout)
    return _lines(tcllib.stdout)


def _counters(output: str) -> list[str]:
    """Each line's "::mime::N uniqueID N" part."""
    return [line.split(" next ")[1] for line in _lines(output)]


def _result(lines: list[str], name: str) -> str:
    """What the send called `name` returned: "CODE {SUMMARY}"."""
    line = next(line for line in lines if line.startswith(name + ": "))
    return line[len(name) + 2:].split(" next ")[0]


def test_derivation_paths_use_up_tcllib_numbers(tmp_path: Path) -> None:
    lines = _same_as_tcllib(tmp_path, DERIVATION)
    # The paths are the ones meant (read from tcllib's own run).
    assert _result(lines, "originator-recipients") == "0 {}"
    assert _result(lines, "no-to").startswith('1 {need -header "To ..."')
    assert _result(lines, "two-originators").startswith("1 {too many mailboxes in -originator")
    assert _result(lines, "bad-from").startswith("1 {error in From:")
    assert _result(lines, "bad-bcc").startswith("1 {error in Bcc:")
    assert _result(lines, "bad-recipient").startswith("1 {error in To:")
    assert _result(lines, "bad-resent-to").startswith("1 {error in Resent-To:")
    assert _result(lines, "maxsecs-nan").startswith("1 {domain error")
    assert _result(lines, "gone-token").startswith('1 {can\'t read "state(header)"')
    assert _result(lines, "gone-token-bad-address").startswith("1 {error in To:")


def test_server_replies_use_up_tcllib_numbers(tmp_path: Path) -> None:
    lines = _same_as_tcllib(tmp_path, REPLIES)
    assert _result(lines, "one-refused") == "0 {bad@x.y}"
    assert _result(lines, "all-refused") == "0 {bad@x.y bad2@x.y}"
    assert _result(lines, "mail-refused") == "7 {550}"
    assert _result(lines, "data-refused") == "7 {554}"
    assert _result(lines, "dot-refused") == "7 {554}"
    assert _result(lines, "no-wait-for-dot") == "7 {-}"
    assert _result(lines, "no-server") == "1 {no connection}"
    assert _result(lines, "greeting-refused") == "1 {busy}"
    assert _result(lines, "failover") == "0 {}"


def test_bcc_paths_use_up_tcllib_numbers(tmp_path: Path) -> None:
    lines = _same_as_tcllib(tmp_path, BCC)
    assert _result(lines, "bcc") == "0 {}"
    assert _result(lines, "bcc-one-refused") == "0 {bad@x.y}"
    assert _result(lines, "bcc-refused-bcc") == "0 {bad@x.y}"
    assert _result(lines, "bcc-mail-refused") == "7 {550}"
    assert _result(lines, "bcc-dot-refused") == "7 {554}"
    assert _result(lines, "bcc-no-server") == "1 {no connection}"


def test_recipients_refused_by_site_policy_use_up_numbers_as_a_server_refusal(
    tmp_path: Path,
) -> None:
    """The site policy refusing every recipient stands for a server doing
    it (docs/POLICY.md): tcllib, whose server refuses them, makes the Bcc
    digest then, so the bridge uses up its numbers too."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[recipients]\ndeny_domains = ["denied.example"]\n')
    body = r"""
set O {-originator a@x.y}
send policy-refuses-all ok {*}$O -header {To d@denied.example} -header {Bcc e@denied.example}
send policy-refuses-all-no-bcc ok {*}$O -header {To d@denied.example}
send policy-refuses-one ok {*}$O -header {To {d@denied.example, b@x.y}} -header {Bcc c@x.y}
"""
    refusing = ServerScript(replies={"RCPT:<d@denied.example>": "550 denied",
                                     "RCPT:<e@denied.example>": "550 denied"})
    script = tmp_path / "policy.tcl"
    script.write_text(PRELUDE + body)
    servers = [refusing, *list(SERVERS.values())[1:]]
    tcllib = run(script, bridge=False, servers=servers)
    bridge = run(script, bridge=True, servers=servers, env={"TCLBRIDGE_POLICY": str(policy)})
    assert bridge.exit == 0, bridge.stderr
    assert _result(_lines(tcllib.stdout), "policy-refuses-all").startswith(
        "0 {not a list: {d@denied.example 550 denied}{e@denied.example")
    # Only the names and counters are compared: the refusal texts differ.
    assert _counters(bridge.stdout) == _counters(tcllib.stdout)
    assert not bridge.sessions or all(
        "RCPT TO:<d@denied.example>" not in session for session in bridge.sessions)


def test_token_sent_twice_uses_up_tcllib_numbers(tmp_path: Path) -> None:
    """The names match. The uniqueID counter does not: tcllib leaves the
    first send's Message-ID on the token and makes none the second time;
    the bridge leaves the token alone (COMPAT token-restored)."""
    body = r"""
set O {-originator a@x.y}
set t [mime::initialize -canonical text/plain -string twice]
send token-sent-once ok -part $t {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send token-sent-twice ok -part $t {*}$O -header {To b@x.y} -header {Bcc c@x.y}
send token-sent-three-times ok -part $t {*}$O -header {To b@x.y}
"""
    script = tmp_path / "twice.tcl"
    script.write_text(PRELUDE + body)
    servers = list(SERVERS.values())
    tcllib = run(script, bridge=False, servers=servers)
    bridge = run(script, bridge=True, servers=servers)
    assert bridge.exit == 0, bridge.stderr
    assert len(_lines(tcllib.stdout)) == 3, tcllib.stdout

    def names(output: str) -> list[str]:
        return [line.split(" uniqueID ")[0] for line in _lines(output)]

    assert names(bridge.stdout) == names(tcllib.stdout)
