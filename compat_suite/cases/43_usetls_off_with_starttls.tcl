# STARTTLS advertised but -usetls 0: no upgrade; AUTH (offered) goes over
# the plain connection, which is allowed to a loopback server.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

foreach user {{} joe} {
    set tok [mime::initialize -canonical text/plain -string "No TLS (user '$user').\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port -usetls 0 \
            -username $user -password "s3cret pw" \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "user '$user': code=$code result=\[$result\]"
    mime::finalize $tok
}
