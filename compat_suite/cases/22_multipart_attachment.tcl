# multipart/mixed: a text part plus a file attachment written by the script
# into a temporary directory, and a base64 text/csv part.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] \
    compat_mp_[pid]]
file mkdir $dir
set path [file join $dir report.bin]
set f [open $path w]
fconfigure $f -translation binary
puts -nonewline $f "id,value\n1,2\n\x00\x01\x02\xfe\xff[string repeat xyz 40]"
close $f

set text [mime::initialize -canonical text/plain -string "See the attachment.\n"]
set file [mime::initialize -canonical application/octet-stream -file $path \
    -header {Content-Disposition {attachment; filename="report.bin"}}]
set csv [mime::initialize -canonical text/csv -param {charset us-ascii} \
    -encoding base64 -string "a,b\n3,4\n"]
set msg [mime::initialize -canonical multipart/mixed -parts [list $text $file $csv]]
mime::setheader $msg Subject "Monthly report"

set code [catch {
    smtp::sendmessage $msg -servers $host -ports $port \
        -originator reports@example.com -header {To "Ann <ann@example.com>"}
} result]
puts "code=$code result=\[$result\]"
puts "parts: [llength [mime::getproperty $msg parts]]"
mime::finalize $msg -subordinates all
file delete -force $dir
