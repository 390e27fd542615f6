# AUTH offered, but -username empty (or not given): no AUTH at all, even
# with a password.
package require mime
package require smtp

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
