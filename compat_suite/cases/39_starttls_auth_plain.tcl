# STARTTLS, then AUTH PLAIN (the only mechanism offered) with the right
# password: EHLO again after the upgrade, AUTH, then the message.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Sent over TLS, authenticated.\n"]
mime::setheader $tok Subject "STARTTLS + AUTH PLAIN"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -username joe -password "s3cret pw" \
        -originator a@example.com -recipients b@example.com
} result]
puts "code=$code result=\[$result\]"
mime::finalize $tok
