# AUTH offered, but -username empty (or not given): no AUTH at all, even
# with a password.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set n 0
foreach opts {{-username {} -password secret} {-password secret} {}} {
    set tok [mime::initialize -canonical text/plain -string "No user ([incr n]).\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port {*}$opts \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "{$opts}: code=$code result=\[$result\]"
    mime::finalize $tok
}
