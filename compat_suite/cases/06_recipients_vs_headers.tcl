# Recipients from To + cc + Dcc headers (Dcc is not written out), then
# -recipients overriding the headers, given as a comma-separated string.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Team update.\n"]
mime::setheader $tok Subject "Weekly update"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator lead@example.com \
    -header {To "Ann <ann@example.com>"} \
    -header {To bob@example.com} \
    -header {cc "Carl <carl@example.com>, dora@example.com"} \
    -header {Dcc audit@example.com}]
puts "headers: \[$r\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Override.\n"]
mime::setheader $tok Subject "Explicit recipients"
set opts [list -originator lead@example.com -header {To ann@example.com} \
    -header {cc carl@example.com} \
    -recipients "Eve <eve@example.com>, frank@example.com"]
set r [eval [linsert $opts 0 smtp::sendmessage $tok -servers $host -ports $port]]
puts "recipients: \[$r\]"
mime::finalize $tok
