# Every recipient refused: even with -atleastone there is nobody to send to.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Into the void.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port -atleastone 1 \
        -originator boss@example.com -recipients "x@example.com,y@example.com"
} result]
puts "code=$code"
puts "result=$result"
mime::finalize $tok
