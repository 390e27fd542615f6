# Lines starting with "." and "From " in parts with each transfer encoding
# (7bit, quoted-printable, base64, 8bit, none given), in one multipart
# message: the DATA must be dot-stuffed and the decoded bodies intact. A
# lone "." line is the end-of-data marker if not stuffed.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set body ".\n..\n. space\nFrom the top\n\nFrom\n.\nend."
set parts {}
foreach enc {7bit quoted-printable base64 8bit {}} {
    set opts [list -canonical text/plain]
    if {$enc ne ""} { lappend opts -encoding $enc }
    lappend opts -string $body
    set p [eval [linsert $opts 0 mime::initialize]]
    mime::setheader $p X-Label "encoding <$enc>"
    lappend parts $p
    puts "<$enc>: encoding=[list [mime::getproperty $p encoding]]\
        body same=[expr {[mime::getbody $p] eq $body}]"
}
set msg [mime::initialize -canonical multipart/mixed -parts $parts]
set code [catch {
    smtp::sendmessage $msg -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com \
        -header [list Subject ". lines"]
} result]
puts "send: code=$code result=\[$result\]"
mime::finalize $msg -subordinates all

# A single-part message whose whole body is ".", sent base64 and as is.
foreach enc {base64 7bit} {
    set tok [mime::initialize -canonical text/plain -encoding $enc -string "."]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "just a dot ($enc): code=$code result=\[$result\]"
    mime::finalize $tok
}
