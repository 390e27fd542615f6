# Bcc recipients get a second transaction: a multipart/digest wrapping the
# original message.
package require mime
package require smtp

lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Quarterly numbers.\n"]
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator cfo@example.com \
    -header {To board@example.com} \
    -header {Subject "Q3 results"} \
    -header {Bcc "Auditor <audit@example.com>, archive@example.com"}]
puts "result: \[$r\]"
mime::finalize $tok
