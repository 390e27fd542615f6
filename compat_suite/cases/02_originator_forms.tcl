# -originator given as a display-name address, as a bare address, and
# invalid forms (caught and printed the way legacy scripts log them).
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc send {tok args} {
    global host port
    set code [catch {
        eval [linsert $args 0 smtp::sendmessage $tok -servers $host -ports $port]
    } result]
    puts "code=$code result=\[$result\]"
}

set tok [mime::initialize -canonical text/plain -string "Hello from Joe.\n"]
mime::setheader $tok Subject "Display name originator"
send $tok -originator "Joe Bloggs <joe@example.com>" \
    -header [list To "Ann <ann@example.com>"]
mime::finalize $tok

set tok [mime::initialize -canonical text/plain -string "Hello again.\n"]
mime::setheader $tok Subject "Bare originator"
send $tok -originator joe@example.com -recipients ann@example.com
mime::finalize $tok

# Two mailboxes: refused before connecting.
set tok [mime::initialize -canonical text/plain -string "x\n"]
send $tok -originator "a@example.com, b@example.com" -recipients ann@example.com
mime::finalize $tok

# Unparsable address.
set tok [mime::initialize -canonical text/plain -string "x\n"]
send $tok -originator "joe@" -recipients ann@example.com
mime::finalize $tok
