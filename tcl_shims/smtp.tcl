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

# How tcllib treats -maxsecs, with Tcl's own expr rules (strings compare as
# strings, 0x10 is 16): {shown mode value}. mode is "nowait" (tcllib does not
# read the reply to the final dot), "wait" (value: seconds) or "error" (value:
# the error tcllib would hit only after the message was sent). `longest` is
# the cap on the wait (tclbridge.smtp.rules).
proc ::tclbridge::smtp::final_wait {value longest} {
    set secs [expr {$value < 0 ? 0 : $value}]
    if {$secs == 0} {
        return [list $secs nowait 0]
    }
    set capped $secs
    if {$capped > $longest} {
        set capped $longest
    }
    if {[catch {expr {$capped * 1000}} ms] || [catch {after cancel [after $ms {}]} err]} {
        return [list $secs error [expr {[info exists err] ? $err : $ms}]]
    }
    return [list $secs wait [expr {double($capped)}]]
}

package provide smtp 1.5.2
