# tclbridge's mime package: thin procs over the Python implementation, one
# per command the Python side lists.
package require Tcl 8.5
# The commands tcllib exports (for `namespace import ::mime::*`).
namespace eval ::mime {
    namespace export copymessage finalize getbody getheader getproperty initialize \
        mapencoding parseaddress parsedatetime reversemapencoding setheader uniqueID
}
foreach ::tclbridge::cmd $::tclbridge::mime_commands {
    ::tclbridge::forward ::mime::$::tclbridge::cmd ::tclbridge::py::mime::$::tclbridge::cmd
}
unset ::tclbridge::cmd
package provide mime 1.7.2
