# MAIL FROM refused: the command returns with code 7 and the server's
# reply as a list (code / diagnostic / args).
package require mime
package require smtp

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
