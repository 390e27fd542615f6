# Multi-line and unusual replies: the result lists carry the first line as
# diagnostic and the rest as args; 251 counts as accepted, 4xx as refused.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port port2

set tok [mime::initialize -canonical text/plain -string "Replies.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port -atleastone yes \
        -originator a@example.com \
        -recipients "fwd@example.com, busy@example.com, multi@example.com, ok@example.com"
} result]
puts "rcpt: code=$code"
foreach item $result { puts "  [list $item]" }
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Refused.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port2 \
        -originator a@example.com -recipients b@example.com
} result]
puts "mail: code=$code"
array set r $result
foreach k [lsort [array names r]] { puts "  $k = [list $r($k)]" }
mime::finalize $tok
