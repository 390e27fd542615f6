# Benchmark (a): COUNT small text messages, one sendmessage (so one
# connection) each, as a cron job sending reports would.
# Usage: small.tcl PORT COUNT; prints "BENCH seconds" for the loop alone.
package require smtp
package require mime
lassign $argv port count
set start [clock microseconds]
for {set i 0} {$i < $count} {incr i} {
    set tok [mime::initialize -canonical text/plain \
        -string "Nightly report $i\n\nAll 42 checks passed.\n"]
    set refused [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port \
        -header [list From reports@example.com] -header [list To ops@example.com] \
        -header [list Subject "Nightly report $i"]]
    if {$refused ne ""} {
        error "refused: $refused"
    }
    mime::finalize $tok
}
puts "BENCH [expr {([clock microseconds] - $start) / 1e6}]"
