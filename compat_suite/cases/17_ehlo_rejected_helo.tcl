# EHLO answered with 5xx: tcllib falls back to HELO (no ESMTP extensions).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Old server.\n"]
mime::setheader $tok Subject "HELO fallback"
set r [smtp::sendmessage $tok -servers $host -ports $port -client mail.example.com \
    -originator a@example.com -recipients b@example.com -queue 1]
puts "result: \[$r\]"
mime::finalize $tok
