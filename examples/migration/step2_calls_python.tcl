# Step 2a: the Tcl script hands one piece to Python. Reading the status file
# is now report_data.read_hosts (a module beside this script); everything
# else is step 1's code, unchanged.
#
#     tclbridge run step2_calls_python.tcl SERVER PORT

package require mime
package require smtp

set here [file dirname [info script]]
# The procs that stay in Tcl for now: summary_text, csv_text, build_report,
# send_report and print_result, as they are in step 1 (sourced here; its
# main part does not run, since it is not the script that was started).
source [file join $here step1_nightly_report.tcl]

proc read_hosts {path} {
    return [tclbridge::call report_data.read_hosts $path]
}

lassign $argv server port
print_result [send_report $server $port [read_hosts [file join $here hosts.txt]]]
