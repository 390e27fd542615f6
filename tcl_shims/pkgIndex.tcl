# Package index for the tclbridge shims. tclbridge.Interp sources this with
# $dir set and re-asserts these entries after every index scan, so the bridge
# wins over tcllib whatever auto_path holds.
package ifneeded mime 1.7.2 [list source [file join $dir mime.tcl]]
package ifneeded smtp 1.5.2 [list source [file join $dir smtp.tcl]]
