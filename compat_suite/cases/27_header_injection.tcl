# A header value with a line break not followed by whitespace would inject a
# header. tcllib sends it; the bridge refuses with a Tcl error.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Injected.\n"]
set code [catch {
    mime::setheader $tok Subject "Hello\nBcc: victim@example.net"
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com
} result]
puts "subject: code=$code result=\[$result\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Injected via -header.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com \
        -header [list X-Note "first\r\nX-Injected: yes"]
} result]
puts "-header: code=$code result=\[$result\]"
mime::finalize $tok

# A folded value (line break followed by a space) is legitimate.
set tok [mime::initialize -canonical text/plain -string "Folded.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com \
        -header [list X-Folded "part one\n part two"]
} result]
puts "folded: code=$code result=\[$result\]"
mime::finalize $tok
