# No To header: an empty Bcc header is added. Without To and without
# -recipients the call fails.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Undisclosed.\n"]
mime::setheader $tok Subject "No To"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator sender@example.com -recipients "a@example.com,b@example.com"]
puts "sent: \[$r\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Nobody.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator sender@example.com -header {cc c@example.com}
} result]
puts "code=$code result=$result"
mime::finalize $tok
