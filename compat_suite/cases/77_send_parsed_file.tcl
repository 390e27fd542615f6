# A saved message (LF line ends, written by the script into a directory of
# its own) parsed with mime::initialize -file and sent on as it is, the
# way relay scripts forward mail: its own From/To/Subject are kept, the
# recipients come from -recipients.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] \
    compat_relay_[pid]]
file mkdir $dir
set path [file join $dir incoming.eml]
set f [open $path w]
fconfigure $f -translation binary
puts -nonewline $f {From: Ann <ann@example.com>
To: desk@example.com
Subject: Printer on fire
Date: Wed, 04 Sep 2024 08:00:00 +0000
Message-ID: <incoming-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="zz"

--zz
Content-Type: text/plain; charset=us-ascii

The printer on floor 3 is on fire.
.
From now on, please use floor 2.
--zz
Content-Type: application/octet-stream; name="photo.bin"
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRgABAQ==
--zz--
}
close $f

set tok [mime::initialize -file $path]
puts "parsed: [mime::getproperty $tok content], [llength [mime::getproperty $tok parts]] parts"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator relay@example.com -recipients "ops@example.com, oncall@example.com"
} result]
puts "relay: code=$code result=\[$result\]"
puts "headers after: [mime::getheader $tok -names]"
mime::finalize $tok -subordinates all
file delete -force $dir
