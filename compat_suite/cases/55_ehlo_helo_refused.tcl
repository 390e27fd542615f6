# EHLO and then HELO refused; EHLO answered with 421: tcllib gives up on
# that server and tries the next. With no server left the script gets an
# error (tcllib reports the greeting's text, not the refusal).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host refusing busy ok

foreach {label ports} [list \
    "helo refused only" [list $refusing] \
    "421 only" [list $busy] \
    "both, then ok" [list $refusing $busy $ok] \
] {
    set tok [mime::initialize -canonical text/plain -string "Greetings refused.\n"]
    mime::setheader $tok Subject "EHLO refused ($label)"
    set servers {}
    foreach p $ports { lappend servers $host }
    set code [catch {
        smtp::sendmessage $tok -servers $servers -ports $ports -client client.example.com \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "$label: code=$code result=\[$result\]"
    if {$code} { puts "  errorCode=$::errorCode" }
    mime::finalize $tok
}
