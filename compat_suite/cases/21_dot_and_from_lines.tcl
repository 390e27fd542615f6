# Body lines starting with "." (dot-stuffing) and "From ", bare LF line
# ends, and a body without a final newline.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set body ".\n..\n.hidden line\nFrom the start of a line\n>From quoted\n\nend . here\n."
set tok [mime::initialize -canonical text/plain -string $body]
mime::setheader $tok Subject ". and From"
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com]
puts "1: \[$r\]"
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string ".leading dot first line\nlast line\n"]
set r [smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com]
puts "2: \[$r\]"
mime::finalize $tok
