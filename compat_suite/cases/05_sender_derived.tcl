# -originator differs from the From header: a Sender header is derived.
# An explicit Sender suppresses that; an equal From adds nothing.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

foreach {label opts} {
    differs  {-originator bot@example.com -header {From "Boss <boss@example.com>"}}
    explicit {-originator bot@example.com -header {From boss@example.com}
              -header {Sender relay@example.com}}
    same     {-originator boss@example.com -header {From "Boss <boss@example.com>"}}
} {
    set tok [mime::initialize -canonical text/plain -string "Case $label.\n"]
    mime::setheader $tok Subject "Sender $label"
    set code [catch {
        smtp::sendmessage $tok {*}$opts -header {To ann@example.com} \
            -servers $host -ports $port
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
