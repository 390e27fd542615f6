"""Messages for fuzzing the MIME parser, and the Tcl procs that parse one and
read every part back (`__parse mode raw path walk`)."""

from __future__ import annotations

from hypothesis import strategies as st

WALK = r"""
proc __walk {t} {
    foreach cmd [list [list mime::getproperty $t] [list mime::getheader $t] \
                     [list mime::getbody $t] [list mime::getbody $t -decode] \
                     [list mime::getbody $t -blocksize 3 -command __cb] \
                     [list mime::buildmessage $t]] {
        if {[catch $cmd r opts]} { __check $opts }
    }
    if {![catch {mime::getproperty $t parts} kids]} {
        foreach k $kids { __walk $k }
    }
}
proc __cb {args} { return {} }
proc __check {opts} {
    if {[string match TCLBRIDGE* [dict get $opts -errorcode]]} {
        error "internal error: [dict get $opts -errorcode]"
    }
}
proc __parse {mode raw path walk} {
    if {$mode eq "file"} {
        set f [open $path wb]; puts -nonewline $f $raw; close $f
        set code [catch {mime::initialize -file $path} t opts]
    } else {
        set code [catch {mime::initialize -string $raw} t opts]
    }
    if {$code} { __check $opts; return }
    if {$walk} { __walk $t }
    if {[catch {mime::getproperty $t} r opts]} { __check $opts }
    if {[catch {mime::buildmessage $t} r opts]} { __check $opts }
    if {[catch {mime::finalize $t} r opts]} { __check $opts }
}
"""

PIECES = [
    "Content-Type: multipart/mixed; boundary=b\n",
    "Content-Type: multipart/alternative; boundary=\"c d\"\r\n",
    "Content-Type: message/rfc822\n",
    "Content-Type: text/plain; charset=utf-8\n",
    "Content-Type: text/plain; charset=\"unterminated\n",
    "Content-Type: (comment\n",
    "Content-Type: multipart/mixed\n",
    "Content-Transfer-Encoding: base64\n",
    "Content-Transfer-Encoding: quoted-printable\n",
    "Content-Transfer-Encoding: x-bogus\n",
    "Subject: hello\n",
    " continued\n",
    "\tcontinued\n",
    "no colon here\n",
    ": empty name\n",
    "\n",
    "\r\n",
    "\r",
    "--b\n",
    "--b--\n",
    "--c d\n",
    "--c d--\r\n",
    "--bx\n",
    "aGVsbG8=\n",
    "aGVsb\n",
    "!!*&\n",
    "=3D=zz=\n",
    "body text\n",
    "\u00e9\u20ac\n",
    "\x00\x01\xff",
]

messages = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=60).map("".join),
    st.text(max_size=2000),
    st.lists(st.sampled_from(PIECES) | st.text(max_size=20), max_size=40).map("".join),
)
