# Glue shared by the shims: re-raise the {code result errorcode} triples that
# the Python commands return, and define thin procs that forward to them.

namespace eval ::tclbridge {}

# Define proc $name that forwards its arguments to the Python command $impl
# and re-raises the outcome as the caller's own return code.
proc ::tclbridge::forward {name impl} {
    proc $name {args} [string map [list @IMPL@ $impl] {
        lassign [@IMPL@ {*}$args] code result errorcode
        if {$code == 1} {
            return -code error -errorcode $errorcode $result
        }
        return -code $code $result
    }]
}

# Define each Python command of $impls as a stand-in: its first call loads
# the command set $set (whose Python commands replace them all) and passes
# itself on. `package require` then loads nothing of the engines.
proc ::tclbridge::deferred {set impls} {
    foreach impl $impls {
        namespace eval [namespace qualifiers $impl] {}
        proc $impl {args} [string map [list @SET@ $set @IMPL@ $impl] {
            lassign [::tclbridge::py::load @SET@] code result errorcode
            if {$code != 0} {
                return -code error -errorcode $errorcode $result
            }
            tailcall @IMPL@ {*}$args
        }]
    }
}
