# mime::setheader/getheader/getproperty on built parts, the way scripts
# inspect a message before sending it: modes write/append/delete, missing
# and refused keys (errors printed with errorCode), properties of a leaf
# and of a multipart, then the built message printed.
package require mime

proc show {label script} {
    set code [catch {uplevel 1 $script} result]
    puts "$label: code=$code \[$result\]"
    if {$code} { puts "  errorCode=$::errorCode" }
}

set tok [mime::initialize -canonical text/plain -param {charset us-ascii} \
    -param {format flowed} -string "Line one.\nLine two.\n"]
show "set Subject" { mime::setheader $tok Subject "First" }
show "append Subject" { mime::setheader $tok subject "Second" -mode append }
show "get subject" { mime::getheader $tok SUBJECT }
show "write X-Tag" { mime::setheader $tok X-Tag alpha -mode write }
show "overwrite X-Tag" { mime::setheader $tok X-Tag beta }
show "names" { mime::getheader $tok -names }
show "delete X-Tag" { mime::setheader $tok X-Tag "" -mode delete }
show "delete missing" { mime::setheader $tok X-None "" -mode delete }
show "get missing" { mime::getheader $tok X-Tag }
show "bad mode" { mime::setheader $tok Subject v -mode replace }
# Refused keys, on a token of their own: in tcllib a refused new key leaves
# the token broken (see 58_setheader_refused_key).
set scratch [mime::initialize -canonical text/plain -string "scratch\n"]
show "read-only" { mime::setheader $scratch Content-Type text/html }
show "read-only cte" { mime::setheader $scratch content-transfer-encoding base64 }
show "mime-version" { mime::setheader $scratch MIME-Version 2.0 }
mime::finalize $scratch
show "get content-type" { mime::getheader $tok Content-Type }
foreach prop {content encoding params size} {
    show "property $prop" { mime::getproperty $tok $prop }
}
show "property parts" { mime::getproperty $tok parts }
show "property bogus" { mime::getproperty $tok bogus }
show "property names" { lsort [mime::getproperty $tok -names] }

set html [mime::initialize -canonical text/html -encoding quoted-printable \
    -string "<p>Hi=there</p>\n"]
set mp [mime::initialize -canonical multipart/alternative -parts [list $tok $html]]
show "mp content" { mime::getproperty $mp content }
show "mp parts" { llength [mime::getproperty $mp parts] }
show "mp same tokens" { expr {[mime::getproperty $mp parts] eq [list $tok $html]} }
show "mp names" { lsort [mime::getproperty $mp -names] }
show "mp encoding" { mime::getproperty $mp encoding }
show "mp body" { mime::getbody $mp }

puts "--- leaf as built"
puts -nonewline [mime::buildmessage $tok]
puts "--- html as built"
puts -nonewline [mime::buildmessage $html]
puts "---"
mime::finalize $mp -subordinates all
show "finalized" { mime::getheader $tok Subject }
