# One recipient refused; -atleastone true still sends to the others and
# returns the refused one as {addr code text}.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Meeting at 10.\n"]
mime::setheader $tok Subject "Partial delivery"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port -atleastone true \
        -originator boss@example.com \
        -recipients "ann@example.com, ghost@example.com, bob@example.com"
} result]
puts "code=$code"
foreach item $result {
    lassign $item addr rcode text
    puts "refused: $addr ($rcode) $text"
}
mime::finalize $tok
