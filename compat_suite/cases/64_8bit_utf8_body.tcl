# UTF-8 text bodies: -encoding 8bit with a charset parameter (the text as
# Tcl characters, and converted to UTF-8 bytes first, as scripts do), and the
# same text without -encoding (tcllib picks the transfer encoding itself).
# Sent through a server advertising 8BITMIME; getbody read back.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set text "Gr\u00fc\u00dfe aus K\u00f6ln!\n.Punkt am Zeilenanfang\nFrom: nicht ein Header\nPreis: 5 \u20ac\n"
set bytes [encoding convertto utf-8 $text]
foreach {label opts body} [list \
    "8bit chars" {-encoding 8bit -param {charset utf-8}} $text \
    "8bit bytes" {-encoding 8bit -param {charset utf-8}} $bytes \
    "no -encoding" {-param {charset utf-8}} $bytes \
    "binary" {-encoding binary} $bytes \
] {
    set tok [mime::initialize -canonical text/plain {*}$opts -string $body]
    mime::setheader $tok Subject $label
    puts "$label: encoding=[list [mime::getproperty $tok encoding]]\
        size=[mime::getproperty $tok size]"
    set back [mime::getbody $tok]
    puts "  body same: [expr {$back eq $body}] length=[string length $back]"
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port \
            -originator a@example.com -header {To b@example.com}
    } result]
    puts "  send: code=$code result=\[$result\]"
    mime::finalize $tok
}
