# One recipient refused without -atleastone: RSET, nothing is sent, but the
# call still succeeds and lists the refused address.
package require mime
package require smtp

lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "All or nothing.\n"]
mime::setheader $tok Subject "Strict delivery"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator boss@example.com \
        -header {To "ann@example.com, ghost@example.com"}
} result]
puts "code=$code result=\[$result\] llength=[llength $result]"
mime::finalize $tok
