# SIZE advertised: MAIL FROM carries SIZE=<octets>.
package require mime
package require smtp

lassign $argv host port

set tok [mime::initialize -canonical text/plain \
    -string [string repeat "0123456789abcdef\n" 40]]
mime::setheader $tok Subject "Sized"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com]
puts "result: \[$r\]"
mime::finalize $tok
