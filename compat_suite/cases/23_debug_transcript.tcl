# -debug 1: the protocol transcript goes to stderr.
package require mime
package require smtp

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
