# Option errors, printed the way scripts log them: code and message.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set tok [mime::initialize -canonical text/plain -string "never sent\n"]
set base [list -servers $host -ports $port -recipients b@example.com]

set cases {
    odd-list        {-originator}
    unknown-option  {-bogus 1}
    header-not-pair {-header {Subject}}
    header-triple   {-header {X-A b c}}
    content-type    {-header {Content-Type text/html}}
    mime-version    {-header {mime-version 2.0}}
    bad-boolean     {-atleastone maybe}
    bad-debug       {-debug 2}
    bad-queue       {-queue {}}
}
foreach {label opts} $cases {
    set code [catch {smtp::sendmessage $tok {*}$base {*}$opts} result]
    puts "$label: code=$code"
    puts "  $result"
}
mime::finalize $tok
