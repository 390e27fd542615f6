# The server closes the connection instead of answering (MAIL, RCPT, the
# final dot, the greeting): the result tcllib gives each time, printed field
# by field; a dropped greeting makes it try the next server.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host mail rcpt dot greeting ok

foreach {label servers ports} [list \
    MAIL [list $host] [list $mail] \
    RCPT [list $host] [list $rcpt] \
    DOT [list $host] [list $dot] \
    "GREETING, then ok" [list $host $host] [list $greeting $ok] \
] {
    set tok [mime::initialize -canonical text/plain -string "Dropped at $label.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $servers -ports $ports -atleastone 1 \
            -originator a@example.com -recipients "b@example.com, c@example.com"
    } result]
    puts "$label: code=$code"
    if {$code == 7} {
        array set resp $result
        foreach k [lsort [array names resp]] { puts "  $k = [list $resp($k)]" }
        array unset resp
    } else {
        puts "  result=[list $result]"
    }
    mime::finalize $tok
}
