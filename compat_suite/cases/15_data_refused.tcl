# DATA refused (code 7 with the reply list); then the end-of-data dot
# refused on a second server that accepts DATA.
package require mime
package require smtp

lassign $argv host port port2

set tok [mime::initialize -canonical text/plain -string "Big message.\n"]
mime::setheader $tok Subject "Data refused"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com
} result]
puts "DATA: code=$code result=$result"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Too big.\n"]
mime::setheader $tok Subject "Dot refused"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port2 \
        -originator a@example.com -recipients b@example.com
} result]
puts "DOT: code=$code result=$result"
mime::finalize $tok
