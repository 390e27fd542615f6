"""Step 2b: Python drives, the legacy Tcl proc still sends.

The program is Python now; it reads the hosts with report_data and calls the
unchanged `send_report` proc of step 1 through `tclbridge.load_tcl`. Python
lists arrive in Tcl as lists, and the refused recipients come back as a Tcl
list.

    python step2_calls_tcl.py SERVER PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import report_data

from tclbridge import load_tcl

HERE = Path(__file__).resolve().parent


def main(server: str, port: str) -> None:
    with load_tcl(HERE / "step1_nightly_report.tcl") as legacy:
        rows = report_data.read_hosts()
        for item in legacy.call_list("send_report", server, port, rows):
            address, code, text = legacy.split_list(item)
            print(f"refused: {address} ({code} {text})")
    print("report sent")


if __name__ == "__main__":
    main(*sys.argv[1:3])
