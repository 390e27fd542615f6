# Attachments read from files the script writes into a directory of its own:
# a binary file as application/octet-stream (base64 chosen by tcllib), a
# text file with lines starting with "." and "From " (once as is, once
# forced to quoted-printable), inspected with getproperty/getbody, sent
# in one multipart/mixed message; the directory is removed at the end.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] \
    compat_files_[pid]]
file mkdir $dir

proc write {path data} {
    set f [open $path w]
    fconfigure $f -translation binary
    puts -nonewline $f $data
    close $f
}
set bin [file join $dir logo.bin]
set txt [file join $dir notes.txt]
set binary ""
for {set i 0} {$i < 300} {incr i} { append binary [format %c [expr {($i * 7) % 256}]] }
write $bin $binary
write $txt ".hidden\nFrom here on\n..two dots\nlast line without newline"

set parts {}
lappend parts [mime::initialize -canonical text/plain -string "Files attached.\n"]
lappend parts [mime::initialize -canonical application/octet-stream -file $bin \
    -param {name logo.bin} \
    -header {Content-Disposition {attachment; filename="logo.bin"}}]
lappend parts [mime::initialize -canonical text/plain -file $txt]
lappend parts [mime::initialize -canonical text/plain -file $txt \
    -encoding quoted-printable -header {Content-Description "as quoted-printable"}]

foreach p [lrange $parts 1 end] {
    set body [mime::getbody $p]
    binary scan [string range $body 0 15] H* head
    puts "[mime::getproperty $p content] encoding=[list [mime::getproperty $p encoding]]\
        size=[mime::getproperty $p size] length=[string length $body] head=$head"
}

set msg [mime::initialize -canonical multipart/mixed -parts $parts]
mime::setheader $msg Subject "Two files"
foreach n {1 2} {
    set code [catch {
        smtp::sendmessage $msg -servers $host -ports $port \
            -originator files@example.com -header {To "Ann <ann@example.com>"}
    } result]
    puts "send $n: code=$code result=\[$result\]"
}
mime::finalize $msg -subordinates all
file delete -force $dir
puts "cleaned up: [expr {![file exists $dir]}]"
