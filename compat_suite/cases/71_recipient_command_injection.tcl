# Addresses a web form might hand a script: a quoted local part holding
# CR LF and an SMTP command, in -recipients, in a To header and in
# -originator. tcllib writes the line break into the command stream, so the
# server sees an extra RCPT; the bridge refuses before connecting.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set evil "\"x\r\nRCPT TO:<evil@example.net>\"@example.com"
foreach {label opts} [list \
    recipients [list -originator a@example.com -recipients $evil] \
    "To header" [list -originator a@example.com -header [list To $evil]] \
    originator [list -originator "\"y\r\nRCPT TO:<evil@example.net>\"@example.com" \
        -recipients b@example.com] \
] {
    set tok [mime::initialize -canonical text/plain -string "Injection via $label.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port {*}$opts
    } result]
    puts "$label: code=$code result=\[[string map [list \r <CR> \n <LF>] $result]\]"
    mime::finalize $tok
}
