# One recipient refused without -atleastone: RSET, nothing is sent, but the
# call still succeeds and lists the refused address.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
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
