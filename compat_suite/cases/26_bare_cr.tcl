# Bare CR in the body: tcllib passes it through; the bridge writes CRLF.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -encoding 8bit \
    -string "col1\rcol2\nsecond line\n\rthird\r.dot after cr\n"]
mime::setheader $tok Subject "Bare CR"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com]
puts "result: \[$r\]"
mime::finalize $tok
