# -tlsimport 1 to a server that (against RFC 3207) lists STARTTLS inside its
# implicit TLS session: tcllib asks for STARTTLS again, the bridge does not.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc policy {code diagnostic} {
    puts "policy asked: $code $diagnostic"
    return secure
}
set tok [mime::initialize -canonical text/plain -string "Implicit TLS.\n"]
foreach policy {{} policy} {
    set code [catch {
        smtp::sendmessage $tok -servers localhost -ports $port -tlsimport 1 \
            -tlspolicy $policy -originator a@example.com -recipients b@example.com
    } result]
    puts "[list $policy]: code=$code result=\[$result\]"
}
mime::finalize $tok
