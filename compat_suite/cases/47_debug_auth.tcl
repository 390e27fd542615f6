# -debug 1 with STARTTLS and AUTH: tcllib prints each AUTH payload (the
# base64 of the user name and password); the bridge prints <hidden>. First a
# wrong password (LOGIN then PLAIN refused, "AUTH ... failed" lines), then
# the right one.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

foreach pw {{not it} {s3cret pw}} {
    set tok [mime::initialize -canonical text/plain -string "Debug AUTH.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port -debug 1 \
            -username joe -password $pw \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "password '$pw': code=$code result=\[$result\]"
    mime::finalize $tok
}
