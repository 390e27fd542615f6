# A message saved with CRLF line ends (as received over SMTP) parsed with
# mime::initialize -file and -string: headers, content type and body as a
# script reads them.
package require mime

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] \
    compat_crlf_[pid]]
file mkdir $dir
set path [file join $dir saved.eml]
set raw [join {
    "From: Ann <ann@example.com>"
    "To: bob@example.com"
    "Subject: Saved with CRLF"
    "Content-Type: text/plain; charset=us-ascii"
    ""
    "First line."
    "Second line."
    ""
} "\r\n"]
set f [open $path w]
fconfigure $f -translation binary
puts -nonewline $f $raw
close $f

foreach {label opts} [list file [list -file $path] string [list -string $raw]] {
    set code [catch {mime::initialize {*}$opts} tok]
    puts "$label: code=$code"
    if {$code} { puts "  error: $tok"; continue }
    puts "  content: [mime::getproperty $tok content] params: [mime::getproperty $tok params]"
    foreach name [mime::getheader $tok -names] {
        puts "  $name: [string map [list \r <CR>] [mime::getheader $tok $name]]"
    }
    puts "  body: [string map [list \r <CR> \n <LF>] [mime::getbody $tok]]"
    mime::finalize $tok
}
file delete -force $dir

# A multipart message with CRLF line ends.
set raw [join {
    "Subject: multi"
    "Content-Type: multipart/mixed; boundary=\"b1\""
    ""
    "--b1"
    "Content-Type: text/plain"
    ""
    "part one"
    "--b1--"
    ""
} "\r\n"]
set tok [mime::initialize -string $raw]
puts "multipart: [mime::getproperty $tok content] {[mime::getproperty $tok params]}"
if {[catch {mime::getproperty $tok parts} parts]} {
    puts "  parts: error: $parts"
} else {
    foreach p $parts {
        puts "  part: [mime::getproperty $p content]\
            body=[string map [list \r <CR> \n <LF>] [mime::getbody $p]]"
    }
}
mime::finalize $tok -subordinates all
