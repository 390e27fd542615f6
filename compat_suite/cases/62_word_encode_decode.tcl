# Non-ASCII header text the way scripts encode it: mime::word_encode with
# iso8859-1 (text as is) and utf-8 (-charset_encoded 0: the text is not yet
# UTF-8 bytes), base64 and quoted-printable, -maxlength; word_decode and
# field_decode back; the bad-input errors. (utf-8 without -charset_encoded 0:
# 63_word_encode_utf8_lenient.)
package require mime

proc show {label script} {
    set code [catch {uplevel 1 $script} result]
    puts "$label: code=$code [list $result]"
    if {$code} { puts "  errorCode=$::errorCode" }
}

set samples [list "Gr\u00fc\u00dfe aus K\u00f6ln" "caf\u00e9 \u2013 \u20ac5" \
    "plain ascii" "under_score and ?=question" ""]
foreach text $samples {
    foreach {charset opts} {utf-8 {-charset_encoded 0} iso8859-1 {} iso8859-1 {-charset_encoded 1}} {
        foreach method {base64 quoted-printable} {
            set label "$charset/$method {$opts} [list $text]"
            show "encode $label" { mime::word_encode $charset $method $text {*}$opts }
            if {![catch {mime::word_encode $charset $method $text {*}$opts} word]} {
                show "  decode" { mime::word_decode $word }
                show "  field" { mime::field_decode "Re: $word (fwd)" }
            }
        }
    }
}

set long [string repeat "\u00e4\u00f6\u00fc " 20]
show "maxlength 40" {
    mime::word_encode utf-8 quoted-printable $long -maxlength 40 -charset_encoded 0
}
show "maxlength 30 b64" {
    mime::word_encode utf-8 base64 $long -charset_encoded 0 -maxlength 30
}
show "maxlength 0" { mime::word_encode utf-8 base64 $long -maxlength 0 }
show "charset_encoded" {
    mime::word_encode iso8859-1 base64 [encoding convertto iso8859-1 "D\u00e9j\u00e0"] \
        -charset_encoded 1
}
show "unknown charset" { mime::word_encode klingon base64 "x" }
show "unknown method" { mime::word_encode utf-8 rot13 "x" }
show "decode not a word" { mime::word_decode "hello" }
show "decode bad charset" { mime::word_decode "=?x-unknown?Q?abc?=" }
show "decode lower q" { mime::word_decode "=?iso-8859-1?q?Caf=E9?=" }
show "decode utf-8" { mime::word_decode "=?UTF-8?Q?Caf=C3=A9?=" }
show "field two words" {
    mime::field_decode "=?UTF-8?B?R3LDvMOfZQ==?= =?ISO-8859-1?Q?_aus_K=F6ln?= und mehr"
}
show "field plain" { mime::field_decode "no encoded words here" }
show "field broken" { mime::field_decode "=?UTF-8?Q?unterminated" }
show "field utf-8" { mime::field_decode "Re: =?utf-8?b?w6TDtsO8?= ok" }
show "mapencoding" { list [mime::mapencoding utf-8] [mime::mapencoding iso8859-1] \
    [mime::reversemapencoding ISO-8859-1] [mime::reversemapencoding utf-8] }
