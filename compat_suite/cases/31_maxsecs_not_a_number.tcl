# A non-numeric -maxsecs: tcllib only trips over it while waiting for the
# reply to the final dot.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Timeout typo.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port -maxsecs 2m \
        -originator a@example.com -recipients b@example.com
} result]
puts "code=$code result=$result"
mime::finalize $tok
