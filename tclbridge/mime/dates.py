"""`mime::parsedatetime`: properties of an RFC 822 date-time, tcllib's way.

Turning free text into seconds is Tcl's `clock scan`; inside a Tcl
interpreter the command layer passes that in (`clock_scan`) so results are
Tcl's own. Without it, RFC 822 dates are read with `email.utils`.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from collections.abc import Callable
from email.utils import parsedate_tz

from tclbridge.engine_errors import MimeError

ClockScan = Callable[[str, bool], int]

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
WEEKDAYS_LONG = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# tcllib's table spells September "Sepember"; scripts see that, so do we.
MONTHS_LONG = (
    "", "January", "February", "March", "April", "May", "June", "July",
    "August", "Sepember", "October", "November", "December",
)
_NUMERIC_ZONE = re.compile(r"^(.*) ([+-])([0-9][0-9])([0-9][0-9])$", re.S)
_ZONE_NAMES = {"UT": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
               "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}
PROPERTIES = ("clock", "hour", "lmonth", "lweekday", "mday", "min", "mon", "month",
              "proper", "rclock", "sec", "wday", "weekday", "yday", "year", "zone")


def python_clock_scan(text: str, gmt: bool) -> int:
    """A stand-in for `clock scan` that reads RFC 822 dates."""
    parsed = parsedate_tz(text)
    if parsed is None:
        raise MimeError(f'unable to convert date-time string "{text}": syntax error')
    fields = parsed[:9]
    if parsed[9] is not None:
        return calendar.timegm(fields) - parsed[9]
    if gmt:
        return calendar.timegm(fields)
    return int(time.mktime(fields[:8] + (-1,)))


def _local(clock: int) -> time.struct_time:
    return time.localtime(clock)


def _tcl_uses_zone_table() -> bool:
    """Tcl's `clock` converts with its own zone table when TCL_TZ or TZ names
    a zone, and through the C library (`mktime`) otherwise (`:localtime`)."""
    zone = os.environ.get("TCL_TZ") or os.environ.get("TZ") or ":localtime"
    return zone != ":localtime"


def _tcl_local_to_utc(wall: time.struct_time) -> int:
    """The clock value Tcl's `clock scan` gives a local wall-clock time.

    With a zone table, Tcl starts from offset 0 and keeps taking the offset
    in effect at (wall - offset) until an offset repeats; in a gap or an
    overlap that picks the earlier or the later reading depending on the
    zone, which `mktime` does not reproduce.
    """
    if not _tcl_uses_zone_table():
        return int(time.mktime(wall[:8] + (-1,)))
    local = calendar.timegm(wall)
    offset, seen = 0, []
    while True:
        offset = time.localtime(local - offset).tm_gmtoff
        if offset in seen:
            return local - offset
        seen.append(offset)


def _zone_offset(clock: int) -> str:
    """+hhmm as tcllib computes it: the clock minus the clock of the same
    wall-clock time read as local time, in minutes."""
    diff = int(clock - _tcl_local_to_utc(time.gmtime(clock))) // 60
    sign = "-" if diff < 0 else "+"
    diff = abs(diff)
    return f"{sign}{diff // 60:02d}{diff % 60:02d}"


def format_proper(clock: int) -> str:
    """An RFC 822 date for `clock` in local time (tcllib's `proper`)."""
    tm = _local(clock)
    wday = WEEKDAYS[(tm.tm_wday + 1) % 7]
    return (
        f"{wday}, {tm.tm_mday:02d} {MONTHS[tm.tm_mon]} {tm.tm_year:04d} "
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {_zone_offset(clock)}"
    )


def now_proper() -> str:
    """`mime::parsedatetime -now proper`."""
    return format_proper(int(time.time()))


def _zone_property(value: str) -> str:
    value = value.replace("\t", " ").strip()
    if " " not in value:
        return "0"
    value = value[value.rfind(" ") + 1 :]
    sign = value[:1]
    if sign in ("+", "-"):
        digits = value[1:].strip()
        ok = len(digits) == 4 and digits[:2].strip().isdigit() and digits[2:].strip().isdigit()
        hours, minutes = (int(digits[:2]), int(digits[2:])) if ok else (0, 0)
        if not ok or hours > 12 or minutes > 59 or (hours == 12 and minutes > 0):
            raise MimeError(f"malformed timezone-specification: {digits}")
        total = hours * 60 + minutes
        return f"-{total}" if sign == "-" else str(total)
    name = value.upper()
    if name not in _ZONE_NAMES:
        raise MimeError(f"unrecognized timezone-mnemonic: {name}")
    return str(_ZONE_NAMES[name] * 60)


def parse_datetime(
    value: str,
    prop: str,
    *,
    clock_scan: ClockScan = python_clock_scan,
    now: Callable[[], float] = time.time,
) -> str:
    """`mime::parsedatetime value property` (value may be `-now`)."""
    is_now = value == "-now"
    if is_now:
        clock = int(now())
    elif found := _NUMERIC_ZONE.match(value):
        value, sign, hh, mm = found.groups()
        clock = clock_scan(value, True)
        offset = 60 * (int(mm) + 60 * int(hh))
        clock += -offset if sign == "+" else offset
    else:
        clock = clock_scan(value, False)

    if prop == "clock":
        return str(clock)
    if prop == "proper":
        return format_proper(clock)
    if prop == "rclock":
        return "0" if is_now else str(int(now()) - clock)
    if prop == "zone":
        return _zone_property(value)
    tm = _local(clock)
    wday = (tm.tm_wday + 1) % 7
    simple = {
        "lmonth": MONTHS_LONG[tm.tm_mon], "lweekday": WEEKDAYS_LONG[wday],
        "month": MONTHS[tm.tm_mon], "weekday": WEEKDAYS[wday], "wday": str(wday),
    }
    if prop in simple:
        return simple[prop]
    numeric = {
        "hour": tm.tm_hour, "mday": tm.tm_mday, "min": tm.tm_min, "mon": tm.tm_mon,
        "sec": tm.tm_sec, "yday": tm.tm_yday, "year": tm.tm_year,
    }
    if prop in numeric:
        return str(numeric[prop])
    raise MimeError(f"unknown property {prop}")
