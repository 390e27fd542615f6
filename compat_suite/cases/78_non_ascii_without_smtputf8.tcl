# Non-ASCII addresses to a server that does not offer SMTPUTF8 (RFC 6531):
# a Latin-1 and a CJK local part (recipients, with -atleastone and one ASCII
# recipient), an internationalized domain with an ASCII local part, and a
# non-ASCII sender. Printed: each sendmessage's code and result.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

foreach {label from to} [list \
    recipients "sender@example.com" "ok@example.com, j\u00fcrgen@example.com, \u7528\u6237@example.com" \
    idn-domain "me@m\u00fcnchen.example" "user@b\u00fccher.example" \
    sender "\u03b1\u03b2@example.com" "b@example.com" \
] {
    set tok [mime::initialize -canonical text/plain -string "To $label.\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port -atleastone 1 \
            -originator $from -recipients $to
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
