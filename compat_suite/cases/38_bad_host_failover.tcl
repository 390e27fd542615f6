# Server names that do not resolve (or cannot even be encoded) are skipped;
# with none left, the script gets the resolver's error.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Failover.\n"]
set code [catch {smtp::sendmessage $tok -servers [list a..b nonexistent.invalid $host] \
    -ports [list 25 25 $port] -originator a@example.com -recipients b@example.com} r]
puts "three servers: code=$code \[$r\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Nowhere.\n"]
set code [catch {smtp::sendmessage $tok -servers a..b \
    -originator a@example.com -recipients b@example.com} r]
puts "bad name only: code=$code \[$r\]"
