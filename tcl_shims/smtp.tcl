# tclbridge's smtp package: sendmessage runs in Python while this proc waits
# in the event loop, as tcllib's own vwait does.
package require Tcl 8.5
package require mime
namespace eval ::smtp {
    namespace export sendmessage
}
namespace eval ::tclbridge::smtp {
    variable done
}

proc ::smtp::sendmessage {part args} {
    lassign [::tclbridge::py::smtp::start $part $args] code result errorcode
    if {$code != 0} {
        return -code $code -errorcode $errorcode $result
    }
    vwait ::tclbridge::smtp::done($result)
    lassign [::tclbridge::py::smtp::finish $result] code result errorcode
    if {$code == 1} {
        return -code error -errorcode $errorcode $result
    }
    return -code $code $result
}

# -tlspolicy is called as tcllib calls it: the command with the STARTTLS
# reply code and text appended; an error counts as its result.
proc ::tclbridge::smtp::tls_policy {cmd code diagnostic} {
    catch {eval $cmd [list $code] [list $diagnostic]} policy
    return $policy
}

# -maxsecs as tcllib computes with it, for tclbridge.smtp.rules' final_wait
# (the rule is there): `expression` on $value with Tcl's own expr rules
# (strings compare as strings, 0x10 is 16, NaN is a domain error).
proc ::tclbridge::smtp::maxsecs_expr {expression value} {
    expr $expression
}

# The error tcllib would meet arming its -maxsecs timer with `secs` (only
# after the message was sent), or "".
proc ::tclbridge::smtp::timer_error {secs} {
    if {[catch {expr {$secs * 1000}} ms] || [catch {after cancel [after $ms {}]} err]} {
        return [expr {[info exists err] ? $err : $ms}]
    }
    return ""
}

package provide smtp 1.5.2
