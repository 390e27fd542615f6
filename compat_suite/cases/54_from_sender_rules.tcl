# From/Sender rules beyond the simple ones: two mailboxes in From (or From
# given twice) without -originator; -originator equal to From's address but
# not to its text; an unparsable From when -originator differs; -originator
# overriding both From and Sender; Resent-From with -originator.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set cases {
    "two in From"        {-header {From "a@example.com, b@example.com"}}
    "From twice"         {-header {From a@example.com} -header {From b@example.com}}
    "two in From + orig" {-originator a@example.com -header {From "a@example.com, b@example.com"}}
    "same address"       {-originator boss@example.com -header {From "The Boss <boss@example.com>"}}
    "bad From"           {-originator bot@example.com -header {From "Boss <boss@>"}}
    "orig over both"     {-originator bot@example.com -header {From boss@example.com}
                          -header {Sender "Desk <desk@example.com>"}}
    "resent"             {-originator bot@example.com -header {Resent-From fwd@example.com}
                          -header {Resent-To next@example.com} -header {From orig@example.com}}
    "sender only"        {-header {Sender desk@example.com}}
}
foreach {label opts} $cases {
    set tok [mime::initialize -canonical text/plain -string "Case: $label.\n"]
    mime::setheader $tok Subject $label
    set code [catch {
        smtp::sendmessage $tok {*}$opts -header {To ann@example.com} \
            -servers $host -ports $port
    } result]
    puts "$label: code=$code result=\[$result\]"
    mime::finalize $tok
}
