# The server's certificate comes from a CA the client was not told to trust.
# tcllib never checks and sends; the bridge refuses the server unless the
# -tlspolicy proc says "insecure" (then it carries on over unverified TLS).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc policy {code diagnostic} {
    # The reason names the OpenSSL check; keep the part that does not vary.
    puts "policy asked: $code {[lindex [split $diagnostic :] 0]} -> insecure"
    return insecure
}

foreach opts {{} {-tlspolicy policy}} {
    set tok [mime::initialize -canonical text/plain -string "Untrusted certificate.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port {*}$opts \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "{$opts}: code=$code result=\[$result\]"
    mime::finalize $tok
}
