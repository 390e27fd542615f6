# Boolean options spelled the ways scripts spell them (Yes, off, NO, On,
# TRUE, 0/1), and values tcllib does not take as booleans (t, y, 2, enabled,
# " 1") caught and printed.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Booleans.\n"]
mime::setheader $tok Subject "Boolean spellings"
set n 0
foreach opts {
    {-atleastone Yes -queue on}
    {-atleastone off -queue OFF}
    {-atleastone NO -queue No -usetls FALSE}
    {-atleastone On -queue 0 -debug no -tlsimport false}
    {-atleastone TRUE -queue yes -usetls 1 -debug Off -tlsimport 0}
} {
    set code [catch {
        eval [linsert $opts 0 smtp::sendmessage $tok -servers $host -ports $port \
            -originator a@example.com -recipients "b@example.com, ghost@example.com"]
    } result]
    puts "[incr n] {$opts}: code=$code result=\[$result\]"
}

foreach {opt value} {
    -atleastone t  -atleastone y  -queue 2  -usetls enabled  -debug { 1}
    -tlsimport yes! -atleastone {}
} {
    set code [catch {
        smtp::sendmessage $tok -servers $host -ports $port $opt $value \
            -originator a@example.com -recipients b@example.com
    } result]
    puts "$opt {$value}: code=$code result=\[$result\] errorCode=$::errorCode"
}
mime::finalize $tok
