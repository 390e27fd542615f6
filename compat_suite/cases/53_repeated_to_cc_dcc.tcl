# Repeated To, cc and Dcc headers: every value is a recipient and every To
# and cc is written out; Dcc never is, unless -recipients is given (then
# tcllib leaves Dcc alone and writes it like any other header). Dcc alone,
# without To, is an error.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc send {label args} {
    global host port
    set tok [mime::initialize -canonical text/plain -string "Case: $label.\n"]
    mime::setheader $tok Subject $label
    set code [catch {
        eval [linsert $args 0 smtp::sendmessage $tok -servers $host -ports $port \
            -originator lead@example.com]
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}

send "repeated" -header {To ann@example.com} -header {To "Bob <bob@example.com>"} \
    -header {cc carl@example.com} -header {cc "dora@example.com, eve@example.com"} \
    -header {Dcc audit@example.com} -header {Dcc "Legal <legal@example.com>"}
send "dcc with -recipients" -header {To ann@example.com} -header {Dcc audit@example.com} \
    -recipients frank@example.com
send "dcc only" -header {Dcc audit@example.com}
send "same address twice" -header {To ann@example.com} -header {cc ann@example.com}
