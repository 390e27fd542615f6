# A script tries to set Content-Type with mime::setheader, catches the
# error and goes on to use the token: inspect it, then build the message.
package require mime

set tok [mime::initialize -canonical text/plain -string "After a refused header.\n"]
mime::setheader $tok Subject "Refused header"
set code [catch {mime::setheader $tok Content-Type text/html} result]
puts "setheader: code=$code \[$result\]"
set code [catch {mime::getheader $tok -names} result]
puts "names: code=$code \[$result\]"
set code [catch {mime::getheader $tok Subject} result]
puts "subject: code=$code \[$result\]"
set code [catch {mime::buildmessage $tok} result]
puts "build: code=$code errorCode=$::errorCode"
puts -nonewline $result
puts "---"
mime::finalize $tok
