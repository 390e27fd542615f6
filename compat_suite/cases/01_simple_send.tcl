# The manual's send_simple_message example, with the port added.
# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc send_simple_message {recipient email_server port subject body} {
    package require smtp
    package require mime

    set token [mime::initialize -canonical text/plain \
        -string $body]
    mime::setheader $token Subject $subject
    set result [smtp::sendmessage $token \
        -recipients $recipient -servers $email_server -ports $port]
    mime::finalize $token
    return $result
}

set r [send_simple_message someone@somewhere.com $host $port \
    "This is the subject." "This is the message."]
puts "result: \[$r\]"
