# -queue with XQUE advertised sends QUED after EHLO (its reply is ignored);
# -queue off, or a server without XQUE, sends nothing extra.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port port2

foreach {label p q} [list xque-on $port yes xque-off $port off no-xque $port2 true] {
    set tok [mime::initialize -canonical text/plain -string "Queue $label.\n"]
    set r [smtp::sendmessage $tok -servers $host -ports $p -queue $q \
        -originator a@example.com -recipients b@example.com]
    puts "$label: \[$r\]"
    mime::finalize $tok
}
