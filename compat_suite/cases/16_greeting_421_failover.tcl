# The first server greets with 421: tcllib moves on to the next server in
# -servers/-ports. A second call lists only the 421 server and fails.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port badport

set tok [mime::initialize -canonical text/plain -string "Failover.\n"]
mime::setheader $tok Subject "Second server"
set code [catch {
    smtp::sendmessage $tok -servers [list $host $host] -ports [list $badport $port] \
        -originator a@example.com -recipients b@example.com
} result]
puts "failover: code=$code result=\[$result\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "No luck.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $badport \
        -originator a@example.com -recipients b@example.com
} result]
puts "only 421: code=$code result=\[$result\]"
mime::finalize $tok
