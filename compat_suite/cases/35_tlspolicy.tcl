# STARTTLS advertised but refused (454): -tlspolicy is called with the code
# and text; "insecure" carries on in plain text, anything else (or an error
# in the policy) gives up on that server.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc policy {answer code diagnostic} {
    puts "policy asked: $code {$diagnostic} -> $answer"
    if {$answer eq "fail"} { error "policy blew up" }
    return $answer
}

foreach answer {insecure secure fail} {
    set tok [mime::initialize -canonical text/plain -string "TLS policy $answer.\n"]
    set rc [catch {smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com \
        -tlspolicy [list policy $answer]} res]
    puts "$answer: rc=$rc errorCode=[expr {$rc == 1 ? $::errorCode : {-}}] \[$res\]"
    mime::finalize $tok
}

# Without a policy, a refused STARTTLS carries on in plain text.
set tok [mime::initialize -canonical text/plain -string "No policy.\n"]
puts "none: [catch {smtp::sendmessage $tok -servers $host -ports $port \
    -originator a@example.com -recipients b@example.com} res] \[$res\]"
mime::finalize $tok
# -usetls 0 never sends STARTTLS.
set tok [mime::initialize -canonical text/plain -string "TLS off.\n"]
puts "off: [catch {smtp::sendmessage $tok -servers $host -ports $port -usetls 0 \
    -originator a@example.com -recipients b@example.com} res] \[$res\]"
