# MAIL FROM refused: the command returns with code 7 and the server's
# reply as a list (code / diagnostic / args).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Rejected sender.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator spammer@example.net -recipients ann@example.com
} result]
puts "code=$code"
puts "result=$result"
array set resp $result
puts "code field: $resp(code)"
puts "diagnostic: $resp(diagnostic)"
mime::finalize $tok
