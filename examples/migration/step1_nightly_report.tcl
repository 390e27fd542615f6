# Step 1: the legacy script, unchanged. A cron job has run it for years:
#
#     tclsh step1_nightly_report.tcl SERVER PORT
#
# Under the bridge it runs as it is:
#
#     tclbridge run step1_nightly_report.tcl SERVER PORT
#
# It reads hosts.txt, builds a summary with the CSV attached, and mails it.

package require mime
package require smtp

proc read_hosts {path} {
    set rows {}
    set f [open $path]
    foreach line [split [read -nonewline $f] \n] {
        if {[string trim $line] eq "" || [string index $line 0] eq "#"} {
            continue
        }
        lappend rows [regexp -all -inline {\S+} $line]
    }
    close $f
    return $rows
}

proc summary_text {rows} {
    set down {}
    foreach row $rows {
        lassign $row host status uptime
        if {$status ne "ok"} {
            lappend down $host
        }
    }
    set text "Nightly report: [llength $rows] hosts, [llength $down] not ok\n"
    if {[llength $down]} {
        append text "Not ok: [join $down {, }]\n"
    }
    append text \n
    foreach row $rows {
        append text [format "%-8s %-9s %s%%\n" {*}$row]
    }
    return $text
}

proc csv_text {rows} {
    set text "host,status,uptime\n"
    foreach row $rows {
        append text [join $row ,] \n
    }
    return $text
}

proc build_report {rows} {
    set summary [mime::initialize -canonical text/plain -param {charset utf-8} \
        -encoding 7bit -string [summary_text $rows]]
    set csv [mime::initialize -canonical text/csv -param {charset utf-8} \
        -encoding base64 -header {Content-Disposition {attachment; filename="hosts.csv"}} \
        -string [csv_text $rows]]
    return [mime::initialize -canonical multipart/mixed -parts [list $summary $csv]]
}

# Sends the report; returns the refused recipients ({address code text} items).
proc send_report {server port rows} {
    set token [build_report $rows]
    set refused [smtp::sendmessage $token -servers $server -ports $port \
        -originator reports@example.com \
        -header {From {Nightly Reports <reports@example.com>}} \
        -header {To ops@example.com} -header {Cc audit@example.com} \
        -header {Subject {Nightly host report}} -atleastone 1]
    mime::finalize $token -subordinates all
    return $refused
}

proc print_result {refused} {
    foreach item $refused {
        lassign $item address code text
        puts "refused: $address ($code $text)"
    }
    puts "report sent"
}

# Run, not loaded (tclbridge.load_tcl leaves argv0 alone): send the report.
if {[info script] eq $argv0} {
    lassign $argv server port
    set here [file dirname [info script]]
    print_result [send_report $server $port [read_hosts [file join $here hosts.txt]]]
}
