# Latin-1 text with an explicit quoted-printable encoding, long lines and
# "=" signs; plus a token built with -param and inspected with getproperty.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set text "Gr\u00fc\u00dfe aus K\u00f6ln, 1+1=2.\n[string repeat {long line } 12]end\ntrailing space \n"
set tok [mime::initialize -canonical text/plain -param {charset iso-8859-1} \
    -encoding quoted-printable -string $text]
mime::setheader $tok Subject "Umlaute"
puts "content: [mime::getproperty $tok content]"
puts "params: [mime::getproperty $tok params]"
puts "encoding: [mime::getproperty $tok encoding]"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com]
puts "result: \[$r\]"
mime::finalize $tok
