# multipart/alternative (text and HTML) inside multipart/mixed, with a
# forwarded message attached as a message/rfc822 part built from another
# token; the tree inspected with getproperty, then sent.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set plain [mime::initialize -canonical text/plain -param {charset us-ascii} \
    -string "Hello Ann,\nsee below.\n"]
set html [mime::initialize -canonical text/html -param {charset us-ascii} \
    -encoding quoted-printable \
    -string "<html><body><p style=\"color: red\">Hello Ann,</p><p>see below.</p></body></html>\n"]
set alt [mime::initialize -canonical multipart/alternative -parts [list $plain $html]]

set orig [mime::initialize -canonical text/plain -string "The original text.\n" \
    -header {From "Carl <carl@example.com>"} -header {Subject "Original"} \
    -header {Date "Tue, 03 Sep 2024 10:00:00 +0000"}]
set fwd [mime::initialize -canonical message/rfc822 -parts [list $orig] \
    -header {Content-Description "Forwarded message"}]

set top [mime::initialize -canonical multipart/mixed -parts [list $alt $fwd]]

proc tree {tok indent} {
    puts "$indent[mime::getproperty $tok content]"
    if {![catch {mime::getproperty $tok parts} kids]} {
        foreach k $kids { tree $k "$indent  " }
    }
}
tree $top ""
puts "fwd names: [mime::getheader $fwd -names]"
puts "orig subject: [mime::getheader $orig Subject]"

set code [catch {
    smtp::sendmessage $top -servers $host -ports $port \
        -originator ann@example.com \
        -header [list To "Bob <bob@example.com>"] \
        -header [list Subject "Fwd: Original"]
} result]
puts "send: code=$code result=\[$result\]"
mime::finalize $top -subordinates all
foreach t [list $plain $html $alt $orig $fwd] {
    puts "finalized: [catch {mime::getproperty $t content}]"
}
