# Legacy scripts often log the package versions they got.
set smtpv [package require smtp]
set mimev [package require mime]
puts "smtp $smtpv mime $mimev"
puts "smtp 1.4 ok: [package vsatisfies $smtpv 1.4]"
puts "mime 1.5 ok: [package vsatisfies $mimev 1.5]"
puts "sendmessage: [llength [info commands ::smtp::sendmessage]]"
puts "initialize: [llength [info commands ::mime::initialize]]"
