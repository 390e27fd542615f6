# The same MIME token sent twice, and inspected after each send.
package require mime
package require smtp

lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Sent twice.\n"]
mime::setheader $tok Subject "Twice"
puts "before: [mime::getheader $tok -names]"
foreach n {1 2} {
    set r [smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -header {To b@example.com}]
    puts "send $n: \[$r\] headers now: [mime::getheader $tok -names]"
}
mime::finalize $tok
