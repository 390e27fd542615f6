# getbody with a -command callback (and -blocksize), the way scripts stream
# a large body; a callback that fails; then finalize with -subordinates
# all / dynamic / none and which tokens are left afterwards.
package require mime

proc collect {name event args} {
    upvar #0 $name acc
    switch -- $event {
        data  { lappend acc(sizes) [string length [lindex $args 0]]; append acc(text) [lindex $args 0] }
        end   { lappend acc(events) end; return "done [string length $acc(text)]" }
        error { lappend acc(events) "error [lindex $args 0]" }
    }
    return ""
}
proc failing {event args} {
    if {$event eq "data"} { error "callback refused the data" }
    return "never"
}

set text [string repeat "line of text\n" 100]
set tok [mime::initialize -canonical text/plain -string $text]
foreach bs {{} 100 4096 1} {
    array unset ::acc
    set ::acc(text) ""
    set ::acc(sizes) {}
    set ::acc(events) {}
    set opts [list -command [list collect ::acc]]
    if {$bs ne ""} { lappend opts -blocksize $bs }
    set code [catch {eval [linsert $opts 0 mime::getbody $tok]} result]
    set sizes $::acc(sizes)
    if {[llength $sizes] > 6} { set sizes "[lrange $sizes 0 2] ... [lrange $sizes end-1 end]" }
    puts "blocksize <$bs>: code=$code result=[list $result] blocks=[llength $::acc(sizes)]\
        sizes={$sizes} same=[expr {$::acc(text) eq $text}] events=$::acc(events)"
}
set code [catch {mime::getbody $tok -command failing} result]
puts "failing callback: code=$code result=[list $result]"
set code [catch {mime::getbody $tok -blocksize 10} result]
puts "blocksize alone: code=$code length=[string length $result]"
set code [catch {mime::getbody $tok -blocksize 0 -command {collect ::acc}} result]
puts "blocksize 0: code=$code result=[list $result]"
mime::finalize $tok

proc alive {toks} {
    set out {}
    foreach t $toks { lappend out [expr {![catch {mime::getproperty $t content}]}] }
    return $out
}
foreach sub {all dynamic none} {
    set a [mime::initialize -canonical text/plain -string "a\n"]
    set b [mime::initialize -canonical text/plain -string "b\n"]
    set mp [mime::initialize -canonical multipart/mixed -parts [list $a $b]]
    set parsed [mime::initialize -string "Content-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x--\n"]
    set kids [mime::getproperty $parsed parts]
    set code [catch {mime::finalize $mp -subordinates $sub} r1]
    set code2 [catch {mime::finalize $parsed -subordinates $sub} r2]
    puts "-subordinates $sub: codes=$code,$code2 built parts alive: [alive [list $a $b]]\
        parsed parts alive: [alive $kids]"
    foreach t [list $a $b {*}$kids] { catch {mime::finalize $t} }
}
set t [mime::initialize -canonical text/plain -string x]
puts "bad -subordinates: [catch {mime::finalize $t -subordinates some} r] $r"
