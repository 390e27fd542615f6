# PENDING (bridge bug, see the compat suite report): the common legacy call
# `mime::word_encode utf-8 quoted-printable "Gr\u00fc\u00dfe"` leaves
# -charset_encoded at its default 1, so tcllib first runs
# `encoding convertfrom utf-8` on text that is not UTF-8 bytes. Tcl 8.6 maps
# each byte that is not valid UTF-8 to the character with that code (and
# takes the low byte of characters above U+00FF), so tcllib still encodes
# "\u00fc" as =C3=BC; the bridge decodes with U+FFFD replacement characters
# (=EF=BF=BD). field_decode of a utf-8 word holding a Latin-1 byte differs
# the same way. The result is sent in a Subject, as scripts do.
package require mime
package require smtp

# Run alone (tclbridge check DIR), the script names servers of its own.
if {$argc == 0} {set argv {mail.example.invalid 25 25 25 25 25}}
lassign $argv host port

proc show {label script} {
    set code [catch {uplevel 1 $script} result]
    puts "$label: code=$code [list $result]"
}

foreach text [list "Gr\u00fc\u00dfe aus K\u00f6ln" "caf\u00e9 \u2013 \u20ac5" "ascii only"] {
    show "b64 [list $text]" { mime::word_encode utf-8 base64 $text }
    show "qp [list $text]" { mime::word_encode utf-8 quoted-printable $text }
    show "qp -charset_encoded 1" {
        mime::word_encode utf-8 quoted-printable $text -charset_encoded 1
    }
}
show "maxlength 40" {
    mime::word_encode utf-8 quoted-printable [string repeat "\u00e4\u00f6\u00fc " 5] -maxlength 40
}
show "word_decode latin-1 byte" { mime::word_decode "=?utf-8?q?Caf=E9?=" }
show "field_decode latin-1 byte" { mime::field_decode "Re: =?utf-8?q?Caf=E9?= (fwd)" }

set tok [mime::initialize -canonical text/plain -string "Encoded subject.\n"]
mime::setheader $tok Subject [mime::word_encode utf-8 quoted-printable "R\u00e9sum\u00e9 f\u00fcr Z\u00fcrich"]
set code [catch {
    smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@example.com -recipients b@example.com
} result]
puts "send: code=$code result=\[$result\]"
mime::finalize $tok
