# The attached file disappears between mime::initialize and the send:
# the message cannot be produced while DATA is being written.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] \
    compat_gone_[pid]]
file mkdir $dir
set path [file join $dir gone.txt]
set f [open $path w]
puts $f "soon gone"
close $f

set part [mime::initialize -canonical text/plain -file $path]
set msg [mime::initialize -canonical multipart/mixed -parts [list $part]]
file delete -force $dir

set code [catch {
    smtp::sendmessage $msg -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com
} result]
puts "code=$code"
puts "result=[string map [list $dir <DIR>] $result]"
mime::finalize $msg -subordinates all
