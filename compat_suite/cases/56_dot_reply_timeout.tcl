# The reply to the final dot comes after -maxsecs: code 7 with "read from
# server timed out"; the client then closes the connection.
# -maxsecs given as a list element and as a string; a prompt server is fine.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host slow quick

set limits [list 1 30]
foreach {label p secs} [list slow $slow [lindex $limits 0] quick $quick "[lindex $limits 1]"] {
    set tok [mime::initialize -canonical text/plain -string "Waiting ($label).\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $p -maxsecs $secs -debug 1 \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "$label: code=$code"
    if {$code == 7} {
        array set resp $result
        foreach k [lsort [array names resp]] { puts "  $k = [list $resp($k)]" }
        unset resp
    } else {
        puts "  result=\[$result\]"
    }
    mime::finalize $tok
}
