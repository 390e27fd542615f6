# Bcc recipients get a second transaction: a multipart/digest wrapping the
# original message.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Quarterly numbers.\n"]
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator cfo@example.com \
    -header {To board@example.com} \
    -header {Subject "Q3 results"} \
    -header {Bcc "Auditor <audit@example.com>, archive@example.com"}]
puts "result: \[$r\]"
mime::finalize $tok
