# Utilities scripts call on received mail: mime::parsedatetime of fixed Date
# values (every property; rclock and -now are left out, they depend on the
# clock), the Date of a parsed message, qp_encode/qp_decode, uniqueID's form.
package require mime

set dates {
    "Mon, 02 Sep 2024 09:15:00 +0200"
    "2 Sep 2024 09:15 -0700"
    "Tue, 31 Dec 1999 23:59:59 GMT"
    "Sun, 29 Feb 2004 12:00:00 EST"
    "bogus date"
}
foreach d $dates {
    puts "[list $d]:"
    foreach p {clock hour lmonth lweekday mday min mon month proper sec wday weekday
               yday year zone nonsense} {
        set code [catch {mime::parsedatetime $d $p} r]
        puts "  $p: code=$code [list $r]"
    }
}

set tok [mime::initialize -string "Date: Fri, 15 Mar 2024 16:45:30 +0100\nSubject: x\n\nbody\n"]
set date [lindex [mime::getheader $tok Date] 0]
puts "parsed Date: [mime::parsedatetime $date clock] [mime::parsedatetime $date proper]"
mime::finalize $tok

foreach {label script} {
    "qp_encode text"    {mime::qp_encode "a=b \u00e9\n[string repeat x 80]\ntrailing \n"}
    "qp_encode word"    {mime::qp_encode "Caf\u00e9 au lait? (_)" 1}
    "qp_encode no soft" {mime::qp_encode [string repeat "y" 90] 0 1}
    "qp_decode"         {mime::qp_decode "a=3Db=\nc =E9 =4"}
    "qp_decode word"    {mime::qp_decode "Caf=E9_au_lait=3F" 1}
} {
    set code [catch $script r]
    puts "$label: code=$code [list $r]"
}
puts "uniqueID form: [regexp {^<[0-9]+\.[0-9]+\.[0-9]+@[^>]+>$} [mime::uniqueID]]"
