# mime::copymessage of a multipart/mixed message into a file the script
# makes (in a directory of its own), read back and printed with the random
# boundary and ids replaced; then the file parsed with mime::initialize -file
# and its parts walked.
package require mime

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] \
    compat_copy_[pid]]
file mkdir $dir
set path [file join $dir message.eml]

set text [mime::initialize -canonical text/plain -param {charset us-ascii} \
    -string "Hello,\nthe numbers are attached.\n"]
set data [mime::initialize -canonical application/octet-stream -encoding base64 \
    -header {Content-Disposition {attachment; filename="n.bin"}} \
    -string "\x00\x01\x02 binary \xff\xfe"]
set msg [mime::initialize -canonical multipart/mixed -parts [list $text $data] \
    -header {Subject "Numbers"}]

set f [open $path w]
fconfigure $f -translation binary
set code [catch {mime::copymessage $msg $f} result]
close $f
puts "copymessage: code=$code \[$result\]"

set f [open $path r]
fconfigure $f -translation binary
set written [read $f]
close $f
set masks {}
foreach {- b} [regexp -all -inline {boundary="([^"]*)"} $written] {
    if {![dict exists $masks $b]} { dict set masks $b BOUNDARY[expr {[dict size $masks] + 1}] }
}
set written [string map $masks $written]
regsub -all {<[0-9]+\.[0-9]+\.[0-9]+@[^>]*>} $written <ID> written
puts "bytes: [string length $written] CR: [llength [regexp -all -inline \r $written]]"
puts [string map [list \r <CR>] $written]

proc walk {tok indent} {
    global masks
    set params [string map $masks [mime::getproperty $tok params]]
    puts "${indent}[mime::getproperty $tok content] $params"
    foreach name [mime::getheader $tok -names] {
        if {[string tolower $name] ni {content-id content-type}} {
            puts "$indent  $name: [mime::getheader $tok $name]"
        }
    }
    if {[catch {mime::getproperty $tok parts} parts]} {
        set body [mime::getbody $tok -decode]
        binary scan $body H* hex
        puts "$indent  body ([string length $body]): $hex"
    } else {
        foreach p $parts { walk $p "$indent    " }
    }
}
set code [catch {mime::initialize -file $path} parsed]
puts "parse: code=$code"
if {$code} {
    puts "  [string map $masks [lindex [split $parsed \n] 0]]"
} else {
    set code [catch {walk $parsed ""} result]
    puts "walk: code=$code \[$result\]"
    mime::finalize $parsed
}
mime::finalize $msg -subordinates all
file delete -force $dir
