# Resent-* headers: originator and recipients come from the Resent-
# fields; Resent-Date and Resent-Message-ID are added.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Forwarded as is.\n"]
mime::setheader $tok From "Original <orig@example.com>"
mime::setheader $tok To "first@example.com"
mime::setheader $tok Subject "Resent message"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -header {Resent-From "Fwd <fwd@example.com>"} \
    -header {Resent-To "next@example.com, other@example.com"} \
    -header {Resent-cc copy@example.com}]
puts "result: \[$r\]"
mime::finalize $tok
