# The attached file disappears between mime::initialize and the send:
# the message cannot be produced while DATA is being written.
package require mime
package require smtp

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
