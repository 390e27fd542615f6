# Originator taken from the From given with -header; a From set on the
# MIME token itself is not consulted (the user name is used instead).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Report attached.\n"]
mime::setheader $tok Subject "From via -header"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -header {From "Joe Bloggs <joe@example.com>"} \
    -header {To ann@example.com}]
puts "1: \[$r\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Second.\n"]
mime::setheader $tok From "Token From <token@example.com>"
mime::setheader $tok Subject "From on the token"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -recipients ann@example.com]
puts "2: \[$r\]"
mime::finalize $tok
