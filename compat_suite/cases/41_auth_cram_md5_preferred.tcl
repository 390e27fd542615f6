# Several mechanisms offered: the strongest both sides know (CRAM-MD5) is used.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "CRAM-MD5 first.\n"]
mime::setheader $tok Subject "Strongest mechanism"
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -username joe -password "s3cret pw" \
        -originator a@example.com -recipients b@example.com
} result]
puts "code=$code result=\[$result\]"
mime::finalize $tok
