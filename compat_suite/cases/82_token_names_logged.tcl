# A program that logs the token of each message it sends, as real ones do.
# tcllib's sendmessage uses up token numbers inside (each address list it
# parses, the two parts of a Bcc digest), so every name logged after a send
# depends on the headers and on how the send went.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port refusing

proc mail {port subject args} {
    global host
    set tok [mime::initialize -canonical text/plain -string "Report: $subject\n"]
    puts "$subject: message $tok"
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port \
            -header [list Subject $subject] {*}$args
    } result]
    puts "$subject: $tok returned $code \[$result\]"
    mime::finalize $tok
}

mail $port nightly -originator reports@example.com -header {To ops@example.com}
mail $port "with From" -originator reports@example.com \
    -header {From {Reports <desk@example.com>}} -header {To ops@example.com}
mail $port audited -originator reports@example.com -header {To ops@example.com} \
    -header {Bcc audit@example.com}
mail $port "one refused" -originator reports@example.com \
    -header {To {ghost@example.com, ops@example.com}} -header {Bcc audit@example.com}
mail $refusing "sender refused" -originator blocked@example.com \
    -header {To ops@example.com} -header {Bcc audit@example.com}
mail $port "no To" -originator reports@example.com -header {cc ops@example.com}
mail $port "bad Bcc" -originator reports@example.com -header {To ops@example.com} \
    -header {Bcc <<<}
set checked [llength [mime::parseaddress "ops@example.com, audit@example.com"]]
mail $port "after parseaddress ($checked)" -originator reports@example.com \
    -recipients ops@example.com
puts "last: [mime::initialize -canonical text/plain -string end]"
