# Date and Message-ID supplied by the caller (via -header, and on the
# token itself) are used instead of generated ones.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Fixed stamps.\n"]
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com \
    -header {Date "Mon, 01 Jan 2001 00:00:00 +0000"} \
    -header {Message-ID <fixed-1@example.com>} \
    -header {Subject "Given via -header"}]
puts "1: \[$r\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "On the token.\n" \
    -header {Date "Tue, 02 Jan 2001 10:30:00 +0100"} \
    -header {Message-ID <fixed-2@example.com>}]
mime::setheader $tok Subject "Given on the token"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -header {To b@example.com}]
puts "2: \[$r\]"
mime::finalize $tok
