# -tlsimport 1: TLS from the first byte (port 465 style), then AUTH, by host
# name ("localhost", which the certificate names).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Implicit TLS.\n"]
mime::setheader $tok Subject "Implicit TLS"
set code [catch {
    smtp::sendmessage $tok -servers localhost -ports $port -tlsimport 1 \
        -username joe -password "s3cret pw" \
        -originator a@example.com -recipients b@example.com
} result]
puts "code=$code result=\[$result\]"
mime::finalize $tok
