# A server advertising ONEX and SIZE 1000: tcllib sends ONEX when the
# connection carries one message (no Bcc) and not when a Bcc digest follows;
# a message above the SIZE limit is refused at MAIL (code 7).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc send {label body args} {
    global host port
    set tok [mime::initialize -canonical text/plain -string $body]
    set code [catch {
        eval [linsert $args 0 smtp::sendmessage $tok -servers $host -ports $port \
            -originator a@example.com -header [list To b@example.com] \
            -header [list Subject $label]]
    } result]
    puts "$label: code=$code"
    if {$code == 7} {
        array set r $result
        foreach k [lsort [array names r]] { puts "  $k = [list $r($k)]" }
    } else {
        puts "  result=[list $result]"
    }
    mime::finalize $tok
}

send "small" "Short.\n"
send "with Bcc" "Short, with a blind copy.\n" -header {Bcc c@example.com}
send "too big" [string repeat "0123456789 abcdefghij\n" 60]
send "too big, atleastone" [string repeat "x" 2000] -atleastone yes
