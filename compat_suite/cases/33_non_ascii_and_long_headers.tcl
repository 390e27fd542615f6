# Non-ASCII header text (as legacy scripts pass it, unencoded), a Latin-1
# body with -encoding 8bit, and a very long Subject that tcllib does not fold.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical "text/plain" -param {charset iso-8859-1} \
    -encoding 8bit -string "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e.\n"]
mime::setheader $tok Subject "R\u00e9sum\u00e9 [string repeat {very long subject } 12]"
mime::setheader $tok X-Encoded [mime::word_encode iso8859-1 quoted-printable "D\u00e9j\u00e0 vu"]
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -header {To "Z\u00fcrich Office <zh@example.com>"}]
puts "result: \[$r\]"
puts "size: [mime::getproperty $tok size]"
mime::finalize $tok
