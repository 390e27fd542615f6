# EHLO answered with 5xx: tcllib falls back to HELO (no ESMTP extensions).
package require mime
package require smtp

lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Old server.\n"]
mime::setheader $tok Subject "HELO fallback"
set r [smtp::sendmessage $tok -servers $host -ports $port -client mail.example.com \
    -originator a@example.com -recipients b@example.com -queue 1]
puts "result: \[$r\]"
mime::finalize $tok
