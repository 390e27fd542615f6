# Non-ASCII addresses (internationalized mailboxes): Latin-1 characters and
# characters above U+00FF in -recipients and -originator, the server
# advertising SMTPUTF8. Printed: the result and what parseaddress made of
# each address.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

foreach {label from to} [list \
    latin1 "j\u00fcrgen@example.com" "ren\u00e9e@example.com" \
    cjk "sender@example.com" "\u7528\u6237@example.com" \
    greek "\u03b1\u03b2@example.com" "b@example.com" \
] {
    foreach a [list $from $to] {
        set p [lindex [mime::parseaddress $a] 0]
        puts "$label parse [list $a]: [dict get $p address] error=[list [dict get $p error]]"
    }
    set tok [mime::initialize -canonical text/plain -string "To $label.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port \
            -originator $from -recipients $to
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
