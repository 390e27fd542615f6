# SIZE advertised: MAIL FROM carries SIZE=<octets>.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain \
    -string [string repeat "0123456789abcdef\n" 40]]
mime::setheader $tok Subject "Sized"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com]
puts "result: \[$r\]"
mime::finalize $tok
