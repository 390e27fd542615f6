# mime::initialize -string of a raw multipart message (as a script gets it
# from a mailbox): walk the tree, print each part's type, parameters and
# headers, and its body raw and decoded (quoted-printable, base64, a nested
# multipart/alternative and a message/rfc822 part).
package require mime

set raw {From: "Ann Example" <ann@example.com>
To: bob@example.com
Subject: =?UTF-8?Q?Quartalsbericht_f=C3=BCr_Q3?=
Date: Mon, 02 Sep 2024 09:15:00 +0200
Message-ID: <report-q3@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-XYZ"

This is the preamble.

--outer-XYZ
Content-Type: multipart/alternative; boundary="alt-123"

--alt-123
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe,
.a line with a dot
From the start of a line
soft=
 break
--alt-123
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: base64

PHA+R3L832U8L3A+Cg==
--alt-123--

--outer-XYZ
Content-Type: message/rfc822
Content-Description: forwarded

From: carl@example.com
Subject: inner
Content-Type: text/plain

Inner body.
--outer-XYZ
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

AAEC/f7/
--outer-XYZ--
Epilogue here.
}

proc walk {tok indent} {
    puts "${indent}[mime::getproperty $tok content] {[mime::getproperty $tok params]}\
        encoding={[mime::getproperty $tok encoding]}"
    foreach name [mime::getheader $tok -names] {
        puts "$indent  $name: [mime::getheader $tok $name]"
    }
    if {[catch {mime::getproperty $tok parts} parts]} {
        set raw [mime::getbody $tok]
        set decoded [mime::getbody $tok -decode]
        puts "$indent  size=[mime::getproperty $tok size]"
        if {[string match text/* [mime::getproperty $tok content]]} {
            puts "$indent  raw=[list $raw]"
            puts "$indent  decoded=[list $decoded]"
        } else {
            binary scan $raw H* rawhex
            binary scan $decoded H* hex
            puts "$indent  raw hex=$rawhex decoded hex=$hex"
        }
    } else {
        foreach p $parts { walk $p "$indent    " }
    }
}

set tok [mime::initialize -string $raw]
set code [catch {walk $tok ""} result]
puts "walk: code=$code \[$result\]"
puts "subject decoded: [mime::field_decode [lindex [mime::getheader $tok Subject] 0]]"
mime::finalize $tok -subordinates all
