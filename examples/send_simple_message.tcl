# The example from tcllib's smtp manual page, as a legacy script would have it.
# Run it with:  tclbridge run --capture capture examples/send_simple_message.tcl
package require smtp
package require mime

proc send_simple_message {recipient email_server subject body} {
    set token [mime::initialize -canonical text/plain \
        -string $body]
    mime::setheader $token Subject $subject
    smtp::sendmessage $token \
        -recipients $recipient -servers $email_server
    mime::finalize $token
}

send_simple_message someone@somewhere.com localhost \
    "This is the subject." "This is the message."
puts "sent"
