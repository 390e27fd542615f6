# RFC 822 address forms in -recipients and headers: groups, comments,
# quoted local parts, route addresses, and an invalid To (error text).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set forms {
    group    {-recipients "Team: ann@example.com, Bob <bob@example.com>;"}
    comment  {-recipients "carl@example.com (Carl C.), \"Dora D.\" <dora@example.com>"}
    quoted   {-recipients "\"john smith\"@example.com"}
    route    {-recipients "<@relay.example.com:eve@example.com>"}
    badto    {-header {To "ann@example.com, <broken"}}
    nodomain {-recipients "localuser"}
}
foreach {label opts} $forms {
    set tok [mime::initialize -canonical text/plain -string "Form $label.\n"]
    set code [catch {
        eval smtp::sendmessage $tok -servers $host -ports $port \
            -originator sender@example.com $opts
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
