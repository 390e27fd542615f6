# No server listening: connection refused must surface as an error.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

# Find a port nobody listens on: open a listener, note its port, close it.
set l [socket -server {apply {{c a p} {close $c}}} -myaddr $host 0]
set deadport [lindex [fconfigure $l -sockname] 2]
close $l

set tok [mime::initialize -canonical text/plain -string "nobody home\n"]
set code [catch {
    smtp::sendmessage $tok -originator from@example.com \
        -recipients to@example.com -servers [list $host] -ports [list $deadport]
} result]
puts "code=$code"
puts "result=$result"
puts "errorCode=$::errorCode"
mime::finalize $tok
