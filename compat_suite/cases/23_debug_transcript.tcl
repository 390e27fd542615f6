# -debug 1: the protocol transcript goes to stderr.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Debug me.\n"]
mime::setheader $tok Subject "Debug"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port -debug 1 \
        -originator a@example.com -recipients "b@example.com, ghost@example.com" \
        -atleastone 1
} result]
puts "code=$code result=$result"
mime::finalize $tok
