# -maxsecs as tcllib reads it, with Tcl's expr rules: 0, negative and empty
# mean "do not read the reply to the final dot" (code 7, empty result),
# non-numbers that sort after "600" mean 600, hex and octal are numbers.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

foreach secs {30 0 -1 {} abc 0x10 010 700} {
    set tok [mime::initialize -canonical text/plain -string "maxsecs <$secs>\n"]
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port -maxsecs $secs \
            -originator a@example.com -recipients b@example.com -debug 1
    } result]
    puts "<$secs>: code=$code result=\[$result\]"
    mime::finalize $tok
}
