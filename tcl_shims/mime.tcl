# tclbridge's mime package: thin procs over the Python implementation.
package require Tcl 8.5
namespace eval ::mime {}
foreach ::tclbridge::cmd {
    initialize finalize getproperty getheader setheader getbody
    copymessage buildmessage parseaddress parsedatetime uniqueID
    qp_encode qp_decode word_encode word_decode field_decode
    mapencoding reversemapencoding encoding
} {
    ::tclbridge::forward ::mime::$::tclbridge::cmd ::tclbridge::py::mime::$::tclbridge::cmd
}
unset ::tclbridge::cmd
package provide mime 1.7.2
