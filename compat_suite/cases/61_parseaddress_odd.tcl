# mime::parseaddress of the odd addresses found in real address books:
# every property of every address printed, sorted by key.
package require mime

set inputs {
    {"Doe, John" <john.doe@example.com>}
    {john@example.com (John Doe)}
    {<john@example.com>}
    {John <john@[192.168.0.1]>}
    {undisclosed-recipients:;}
    {Team: a@example.com, "B" <b@example.com>;, c@example.com}
    {<@hop1.example.com,@hop2.example.com:john@example.com>}
    {"very.unusual.@.unusual.com"@example.com}
    {john.doe@example.com.}
    {john}
    {j\"o@example.com}
    {=?UTF-8?Q?J=C3=BCrgen?= <juergen@example.com>}
    {a@example.com,,b@example.com}
    {}
    {<>}
    {John <john@example.com}
    {john@@example.com}
    {@example.com}
    {"unterminated <x@example.com>}
}
set n 0
foreach input $inputs {
    set code [catch {mime::parseaddress $input} result]
    puts "[incr n] [list $input]: code=$code count=[expr {$code ? "-" : [llength $result]}]"
    if {$code} {
        puts "  error: $result"
        continue
    }
    foreach addr $result {
        set d [dict create {*}$addr]
        foreach k [lsort [dict keys $d]] {
            puts "  $k=[list [dict get $d $k]]"
        }
        puts "  --"
    }
}
