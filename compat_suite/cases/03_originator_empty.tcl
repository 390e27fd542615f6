# -originator "" means a null reverse-path (bounce-style) and no From header.
package require mime
package require smtp

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
