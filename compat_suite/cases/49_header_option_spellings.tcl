# -header options the way scripts build them: pairs collected with lappend
# and passed through eval/linsert or {*}, header names in any case (written
# as given), a header given as a two-element string, an empty X- header,
# repeated To.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "Built with lappend.\n"]
set opts {}
lappend opts -header [list From "Ops Team <ops@example.com>"]
lappend opts -header [list to "Ann <ann@example.com>"]
lappend opts -header [list TO bob@example.com]
lappend opts -header [list SUBJECT "Nightly job: 3 warnings"]
lappend opts -header [list X-Job-Id 4711]
lappend opts -header [list X-Empty ""]
set code [catch {eval [linsert $opts 0 smtp::sendmessage $tok -servers $host -ports $port]} r]
puts "linsert: code=$code result=\[$r\]"
mime::finalize $tok

# Options expanded with {*}, a header given as a plain string.
set tok [mime::initialize -canonical text/plain -string "Expanded.\n"]
set code [catch {
    smtp::sendmessage $tok {*}[list -servers $host -ports $port] \
        -header "Reply-To ops-replies@example.com" \
        -header {Cc {"Smith, Carl" <carl@example.com>}} \
        -originator ops@example.com -recipients dora@example.com
} r]
puts "expand: code=$code result=\[$r\]"
mime::finalize $tok

# Headers collected in a list first, then the option list passed to eval.
set tok [mime::initialize -canonical text/plain -string "Keys.\n"]
set hdrs [list [list Subject "Plain eval"] [list To eve@example.com]]
set args [list -servers $host -ports $port -originator ops@example.com]
foreach h $hdrs { lappend args -header $h }
set code [catch {eval smtp::sendmessage $tok $args} r]
puts "eval: code=$code result=\[$r\]"
mime::finalize $tok
