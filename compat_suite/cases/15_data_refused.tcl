# DATA refused (code 7 with the reply list); then the end-of-data dot
# refused on a second server that accepts DATA.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
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
