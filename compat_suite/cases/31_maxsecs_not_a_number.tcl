# A non-numeric -maxsecs: tcllib only trips over it while waiting for the
# reply to the final dot.
package require mime
package require smtp

lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Timeout typo.\n"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port -maxsecs 2m \
        -originator a@example.com -recipients b@example.com
} result]
puts "code=$code result=$result"
mime::finalize $tok
