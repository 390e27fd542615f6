# mime::initialize called wrongly, as scripts do by mistake: each error
# printed with its errorCode; a bad token in -parts; the options tcllib
# takes no notice of without -root (-root with -string, -offset and -count
# without -root); its parser's internal -lineslist; a missing -file.
package require mime

set good [mime::initialize -canonical text/plain -string "ok\n"]
set n 0
foreach args [list \
    {} \
    {-canonical text/plain} \
    {-string "no type"} \
    {-canonical text/plain -string a -file /nonexistent/x} \
    {-canonical text/plain -bogus 1 -string x} \
    {-canonical text/plain -encoding rot13 -string x} \
    {-canonical text/plain -parts {}} \
    [list -canonical multipart/mixed -parts [list $good ::mime::no-such-token]] \
    {-canonical multipart/mixed -string "not parts"} \
    {-canonical text/plain -file /nonexistent/dir/file.txt} \
    {-canonical text/plain -string x -header {Subject}} \
    {-canonical text/plain -string x -param {charset}} \
    {-canonical text/plain -string x -root ::mime::1} \
    {-file /nonexistent/mail.eml -offset 10 -count 5} \
    {-lineslist {{Subject: x} {} body}} \
] {
    set code [catch {mime::initialize {*}$args} result]
    puts "[incr n] [list $args]: code=$code"
    puts "  result: [regsub -all {::mime::[0-9]+} $result ::mime::N]"
    if {$code} { puts "  errorCode: $::errorCode" }
    if {!$code} {
        set code [catch {mime::buildmessage $result} built]
        puts "  build: code=$code [expr {$code ? $built : "ok"}]"
        catch {mime::finalize $result}
    }
}
mime::finalize $good
