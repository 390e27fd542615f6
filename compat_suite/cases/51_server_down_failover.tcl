# -servers/-ports as lists with several entries: the first server is down
# (nobody listens), so the next one is used; empty server entries are
# skipped; -servers given as a plain string; a 421 server between a dead
# one and a working one.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port busyport

# A port nobody listens on: open a listener, note its port, close it.
set l [socket -server {apply {{c a p} {close $c}}} -myaddr $host 0]
set deadport [lindex [fconfigure $l -sockname] 2]
close $l

proc attempt {label tok args} {
    set code [catch {eval [linsert $args 0 smtp::sendmessage $tok]} result]
    puts "$label: code=$code result=\[$result\]"
}

set tok [mime::initialize -canonical text/plain -string "Failover.\n"]
mime::setheader $tok Subject "Failover"
attempt "down first" $tok -servers [list $host $host] -ports [list $deadport $port] \
    -originator a@example.com -recipients b@example.com
attempt "as string" $tok -servers "$host $host" -ports "$deadport $port" \
    -originator a@example.com -recipients b@example.com
attempt "empty entry" $tok -servers [list {} $host] -ports [list $deadport $port] \
    -originator a@example.com -recipients b@example.com
attempt "dead, 421, ok" $tok -servers [list $host $host $host] \
    -ports [list $deadport $busyport $port] \
    -originator a@example.com -recipients b@example.com
mime::finalize $tok
