# A parsed message whose header value holds a bare CR: tcllib sends it as it
# is (a reader taking CR as a line end sees an extra From header); the bridge
# refuses it as header injection. A folded parsed header is sent by both.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -string "Subject: hi\rFrom: ceo@example.com\n\nInjected?\n"]
puts "parsed subject: [string map [list \r <CR>] [mime::getheader $tok Subject]]"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com
} result]
puts "bare CR: code=$code result=\[$result\]"
mime::finalize $tok

set tok [mime::initialize -string "Subject: part one\n part two\n\nFolded.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com
} result]
puts "folded: code=$code result=\[$result\]"
mime::finalize $tok
