# The bridge's smtp and mime live in the main interpreter (their commands
# are Python's). A child interpreter would find tcllib's smtp on auto_path
# and send around --server, --capture and the site policy, so children,
# and theirs, refuse both packages with a clear error (COMPAT child-interp).

namespace eval ::tclbridge {
    # Run in each child, after the main interpreter's package_unknown was
    # copied there: every index entry for smtp/mime becomes an error.
    variable refuse {
        namespace eval ::tclbridge {
            variable next_unknown [package unknown]
        }
        proc ::tclbridge::claim_packages {} {
            foreach pkg {mime smtp} {
                foreach version [package versions $pkg] {
                    package ifneeded $pkg $version [list error "package $pkg is not\
                        available in a child interpreter: tclbridge runs smtp and\
                        mime in the main interpreter only"]
                }
            }
        }
        package unknown ::tclbridge::package_unknown
        ::tclbridge::claim_packages
    }
    # Run in the main interpreter and in each child: `interp create` guards
    # the new interpreter.
    variable wrapper {
        rename ::interp ::tclbridge::tcl_interp
        proc ::interp {args} {
            set result [uplevel 1 [list ::tclbridge::tcl_interp {*}$args]]
            set sub [lindex $args 0]
            if {[string length $sub] > 1 && [string first $sub create] == 0} {
                ::tclbridge::guard_child $result
            }
            return $result
        }
        proc ::tclbridge::guard_child {path} {
            variable refuse
            variable wrapper
            ::tclbridge::tcl_interp eval $path [list namespace eval ::tclbridge \
                [list variable refuse $refuse wrapper $wrapper]]
            ::tclbridge::tcl_interp eval $path [list proc ::tclbridge::package_unknown \
                [info args ::tclbridge::package_unknown] [info body ::tclbridge::package_unknown]]
            ::tclbridge::tcl_interp eval $path $refuse
            ::tclbridge::tcl_interp eval $path $wrapper
        }
    }
}
eval $::tclbridge::wrapper
