# A wrong password: every offered mechanism is tried and refused (535), then
# the message goes unauthenticated. The second server wants AUTH before MAIL,
# so there the unauthenticated send is refused.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port strictport

foreach {label p} [list open $port strict $strictport] {
    set tok [mime::initialize -canonical text/plain -string "Wrong password ($label).\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $p \
            -username joe -password "not it" \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
