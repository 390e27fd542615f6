# A refused Bcc recipient is reported in the result, like a refused To.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Blind.\n"]
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -header {From boss@example.com} -header {To staff@example.com} \
    -header {Bcc ghost@example.com} -header {Subject Plans}]
puts "result: \[$r\] length=[llength $r]"
mime::finalize $tok
