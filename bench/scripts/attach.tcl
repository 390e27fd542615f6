# Benchmark (b): one message with FILE attached (base64).
# Usage: attach.tcl PORT FILE; prints "BENCH seconds" for building and sending.
package require smtp
package require mime
lassign $argv port path
set start [clock microseconds]
set text [mime::initialize -canonical text/plain -string "The export is attached.\n"]
set file [mime::initialize -canonical application/octet-stream -encoding base64 \
    -param [list name [file tail $path]] -file $path]
set top [mime::initialize -canonical multipart/mixed -parts [list $text $file]]
set refused [smtp::sendmessage $top -servers 127.0.0.1 -ports $port \
    -header [list From reports@example.com] -header [list To ops@example.com] \
    -header [list Subject "Export [file tail $path]"]]
if {$refused ne ""} {
    error "refused: $refused"
}
mime::finalize $top -subordinates all
puts "BENCH [expr {([clock microseconds] - $start) / 1e6}]"
