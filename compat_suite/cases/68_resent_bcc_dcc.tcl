# Resent-* headers switch every header rule to its Resent- form: recipients
# from Resent-To + Resent-cc + Resent-Dcc (the plain To and cc only travel
# with the message), Resent-Bcc as a second transaction (the digest's
# Subject names "[Resent-Bcc]"), and Resent-To missing is an error.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc send {label args} {
    global host port
    set tok [mime::initialize -canonical text/plain -string "Case: $label.\n"]
    mime::setheader $tok From "Original <orig@example.com>"
    mime::setheader $tok To first@example.com
    mime::setheader $tok cc second@example.com
    set code [catch {
        eval [linsert $args 0 smtp::sendmessage $tok -servers $host -ports $port]
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}

send "resent all" -header {Resent-From fwd@example.com} \
    -header {Resent-To next@example.com} -header {Resent-cc copy@example.com} \
    -header {Resent-Dcc hidden@example.com} -header {Resent-Bcc blind@example.com} \
    -header {Subject "Resent with Bcc"}
send "no Resent-To" -header {Resent-From fwd@example.com} -header {Resent-cc copy@example.com}
send "plain Bcc kept" -header {Resent-From fwd@example.com} \
    -header {Resent-To next@example.com} -header {Bcc old@example.com}
