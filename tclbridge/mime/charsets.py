"""Tcl encoding names <-> MIME charset names, as tcllib's mime maps them."""

from __future__ import annotations

import codecs

# Tcl encoding -> preferred MIME charset ("" when tcllib knows none).
TCL_TO_MIME: dict[str, str] = {
    "ascii": "US-ASCII", "big5": "Big5",
    **{f"cp125{i}": f"Windows-125{i}" for i in range(9)},
    "cp437": "IBM437", "cp737": "", "cp775": "IBM775",
    **{f"cp{n}": f"IBM{n}" for n in (850, 852, 855, 857, 860, 861, 862, 863, 864, 865, 866, 869)},
    "cp874": "", "cp932": "", "cp936": "GBK", "cp949": "", "cp950": "",
    "dingbats": "", "ebcdic": "",
    "euc-cn": "EUC-CN", "euc-jp": "EUC-JP", "euc-kr": "EUC-KR",
    "gb12345": "GB12345", "gb1988": "GB1988", "gb2312": "GB2312",
    "iso2022": "ISO-2022", "iso2022-jp": "ISO-2022-JP", "iso2022-kr": "ISO-2022-KR",
    **{f"iso8859-{i}": f"ISO-8859-{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16)},
    "jis0201": "JIS_X0201", "jis0208": "JIS_C6226-1983", "jis0212": "JIS_X0212-1990",
    "koi8-r": "KOI8-R", "koi8-u": "KOI8-U", "ksc5601": "KS_C_5601-1987",
    **{f"mac{n}": "" for n in (
        "CentEuro", "Croatian", "Cyrillic", "Dingbats", "Greek", "Iceland", "Japan",
        "Roman", "Romania", "Thai", "Turkish", "Ukraine")},
    "shiftjis": "Shift_JIS", "symbol": "", "tis-620": "TIS-620", "unicode": "",
    "utf-8": "UTF-8",
}

# Further MIME names (aliases) tcllib recognises, per Tcl encoding.
_ALIASES: dict[str, tuple[str, ...]] = {
    "ascii": ("ANSI_X3.4-1968", "iso-ir-6", "ANSI_X3.4-1986", "ISO_646.irv:1991", "ASCII",
              "ISO646-US", "us", "IBM367", "cp367"),
    "cp437": ("cp437", "437"), "cp775": ("cp775",), "cp850": ("cp850", "850"),
    "cp852": ("cp852", "852"), "cp855": ("cp855", "855"), "cp857": ("cp857", "857"),
    "cp860": ("cp860", "860"), "cp861": ("cp861", "861", "cp-is"), "cp862": ("cp862", "862"),
    "cp863": ("cp863", "863"), "cp864": ("cp864",), "cp865": ("cp865", "865"),
    "cp866": ("cp866", "866"), "cp869": ("cp869", "869", "cp-gr"),
    "cp936": ("CP936", "MS936", "Windows-936"),
    "iso8859-1": ("ISO_8859-1:1987", "iso-ir-100", "ISO_8859-1", "latin1", "l1", "IBM819",
                  "CP819"),
    "iso8859-2": ("ISO_8859-2:1987", "iso-ir-101", "ISO_8859-2", "latin2", "l2"),
    "iso8859-3": ("ISO_8859-3:1988", "iso-ir-109", "ISO_8859-3", "latin3", "l3"),
    "iso8859-4": ("ISO_8859-4:1988", "iso-ir-110", "ISO_8859-4", "latin4", "l4"),
    "iso8859-5": ("ISO_8859-5:1988", "iso-ir-144", "ISO_8859-5", "cyrillic"),
    "iso8859-6": ("ISO_8859-6:1987", "iso-ir-127", "ISO_8859-6", "ECMA-114", "ASMO-708",
                  "arabic"),
    "iso8859-7": ("ISO_8859-7:1987", "iso-ir-126", "ISO_8859-7", "ELOT_928", "ECMA-118",
                  "greek", "greek8"),
    "iso8859-8": ("ISO_8859-8:1988", "iso-ir-138", "ISO_8859-8", "hebrew"),
    "iso8859-9": ("ISO_8859-9:1989", "iso-ir-148", "ISO_8859-9", "latin5", "l5"),
    "iso8859-10": ("iso-ir-157", "l6", "ISO_8859-10:1992", "latin6"),
    "iso8859-14": ("iso-ir-199", "ISO_8859-14:1998", "ISO_8859-14", "latin8", "iso-celtic",
                   "l8"),
    "iso8859-15": ("ISO_8859-15", "Latin-9"),
    "iso8859-16": ("iso-ir-226", "ISO_8859-16:2001", "ISO_8859-16", "latin10", "l10"),
    "jis0201": ("X0201",), "jis0208": ("iso-ir-87", "x0208", "JIS_X0208-1983"),
    "jis0212": ("x0212", "iso-ir-159"),
    "ksc5601": ("iso-ir-149", "KS_C_5601-1989", "KSC5601", "korean"),
    "shiftjis": ("MS_Kanji",), "utf-8": ("UTF8",),
}

MIME_TO_TCL: dict[str, str] = {m.lower(): t for t, m in TCL_TO_MIME.items() if m}
MIME_TO_TCL.update({a.lower(): t for t, names in _ALIASES.items() for a in names})

# Python codecs for Tcl encodings (Tcl names that Python spells differently).
_PY_CODEC = {
    "ascii": "ascii", "unicode": "utf-16-le", "shiftjis": "shift_jis", "euc-cn": "gb2312",
    "iso2022-jp": "iso2022_jp", "iso2022-kr": "iso2022_kr", "ksc5601": "euc_kr",
    "tis-620": "tis_620", "macCentEuro": "mac_latin2", "macCyrillic": "mac_cyrillic",
    "macGreek": "mac_greek", "macIceland": "mac_iceland", "macRoman": "mac_roman",
    "macTurkish": "mac_turkish", "cp932": "cp932", "cp949": "cp949", "cp950": "cp950",
}


def mime_charset(tcl_enc: str) -> str | None:
    """`mime::mapencoding` (None when the encoding is not in the table at all)."""
    return TCL_TO_MIME.get(tcl_enc)


def tcl_encoding(charset: str) -> str:
    """`mime::reversemapencoding` ("" when unknown)."""
    return MIME_TO_TCL.get(charset.lower(), "")


def python_codec(tcl_enc: str) -> str:
    """The Python codec for a Tcl encoding name (latin-1 when unknown)."""
    name = _PY_CODEC.get(tcl_enc, tcl_enc)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "latin-1"


def tcl_encode(tcl_enc: str, text: str) -> str:
    """`encoding convertto`: a byte string (one char per byte), '?' if
    unmappable; Tcl's utf-8 writes a lone surrogate as ED A0 80 and so on."""
    codec = python_codec(tcl_enc)
    errors = "surrogatepass" if codec == "utf-8" else "replace"
    return text.encode(codec, errors=errors).decode("latin-1")


def _tcl_lenient(exc: UnicodeError) -> tuple[str, int]:
    """Tcl 8.6's `encoding convertfrom` never fails: a byte it cannot decode
    stands for itself (U+0080 for 0x80...), and C0 80 is UTF-8 for NUL."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    if exc.object[exc.start:exc.start + 2] == b"\xc0\x80":
        return "\x00", exc.start + 2
    return chr(exc.object[exc.start]), exc.start + 1


codecs.register_error("tclbridge-tcl-lenient", _tcl_lenient)


def tcl_decode(tcl_enc: str, data: str) -> str:
    """`encoding convertfrom` of a byte string."""
    raw = bytes(ord(c) & 0xFF for c in data)
    return raw.decode(python_codec(tcl_enc), errors="tclbridge-tcl-lenient")
