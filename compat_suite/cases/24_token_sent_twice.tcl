# The same MIME token sent twice, and inspected after each send.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
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
