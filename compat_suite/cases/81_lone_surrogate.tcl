# A lone surrogate ("\ud800", a character to Tcl 8.6) in a recipient: tcllib
# writes its low byte, a NUL, into RCPT TO; the bridge refuses before
# connecting. In a header value both send Tcl's bytes for it (ED A0 80).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port
set S "\ud800"

set tok [mime::initialize -canonical text/plain -string "Hello.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients "b${S}@example.com"
} result]
puts "recipient: code=$code result=\[$result\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Hello.\n"]

set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com \
        -header [list Subject "x${S}y"]
} result]
puts "subject: code=$code result=\[$result\]"
mime::finalize $tok
