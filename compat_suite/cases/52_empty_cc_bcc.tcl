# Empty cc and Bcc headers, as scripts produce them when a variable is empty:
# an empty cc adds no recipient; an empty Bcc starts a second transaction
# with nobody to send to; a Bcc made only of commas and spaces.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set cc ""
set bcc ""
foreach {label opts} [list \
    "empty cc"       [list -header [list cc $cc]] \
    "empty Bcc"      [list -header [list Bcc $bcc]] \
    "both empty"     [list -header [list cc $cc] -header [list Bcc $bcc]] \
    "commas"         [list -header [list cc ", ,"] -header [list Bcc " , "]] \
    "cc and -recipients" [list -header [list cc ""] -recipients c@example.com] \
] {
    set tok [mime::initialize -canonical text/plain -string "Case: $label.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port \
            -originator a@example.com -header [list To b@example.com] \
            -header [list Subject $label] {*}$opts
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
