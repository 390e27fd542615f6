# STARTTLS answered with 454: the -tlspolicy proc decides. "insecure" goes on
# in plain text (AUTH included: the server is on loopback); "secure" gives up.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc policy {answer code diagnostic} {
    puts "policy asked: $code {$diagnostic} -> $answer"
    return $answer
}

foreach answer {insecure secure} {
    set tok [mime::initialize -canonical text/plain -string "Policy $answer.\n"]
    set rc [catch {smtp::sendmessage $tok -servers $host -ports $port \
        -username joe -password "s3cret pw" \
        -originator a@example.com -recipients b@example.com \
        -tlspolicy [list policy $answer]} res]
    puts "$answer: rc=$rc errorCode=[expr {$rc == 1 ? $::errorCode : {-}}] \[$res\]"
    mime::finalize $tok
}
