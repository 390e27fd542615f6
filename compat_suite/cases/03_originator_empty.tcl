# -originator "" means a null reverse-path (bounce-style) and no From header.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Delivery report.\n"]
mime::setheader $tok Subject "Undeliverable mail"
set code [catch {
    smtp::sendmessage $tok -originator "" -recipients postmaster@example.com \
        -servers $host -ports $port
} result]
puts "code=$code result=\[$result\]"
puts "headers: [mime::getheader $tok -names]"
mime::finalize $tok
