"""Make docs/capture-viewer.png: the list page of `tclbridge capture serve`
over a few messages a Tcl script sends under `tclbridge run --capture` (one
with a recipient the site policy refuses), in headless Chromium.

    .venv/bin/python scripts/capture_viewer_screenshot.py [OUTPUT.png]

Needs the `test` and `ui` extras and Debian's chromium + chromium-driver
(`scripts/bootstrap.sh test` installs them)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import chromium  # noqa: E402
from tests.support.capture_viewer import serving  # noqa: E402

SCRIPT = r"""
package require mime
package require smtp
proc send {to subject body args} {
    set tok [mime::initialize -canonical text/plain -string $body]
    smtp::sendmessage $tok -servers mail.example.com -originator reports@example.com \
        -recipients $to -header [list Subject $subject] -header {From reports@example.com} \
        {*}$args
    mime::finalize $tok
}
send ops@example.com "Nightly backup: 14 hosts OK" "All hosts backed up."
send {ops@example.com, audit@example.com} "Disk usage report" [string repeat "df -h\n" 400]
send {ops@example.com, boss@rivals.example} "Weekly summary" "Summary." -atleastone 1
send dba@example.com "Database vacuum finished" "vacuum: 12 tables" -usetls 0
"""


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "capture-viewer.png"
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "jobs.tcl").write_text(SCRIPT)
        (work / "policy.toml").write_text('[recipients]\ndeny_domains = ["rivals.example"]\n')
        os.chdir(work)  # the page shows DIR as given: "captures"
        captures = Path("captures")
        subprocess.run([sys.executable, "-m", "tclbridge", "run", "--policy",
                        str(work / "policy.toml"), "--capture", str(captures),
                        str(work / "jobs.tcl")], check=True, capture_output=True, timeout=120)
        with serving(captures) as viewer, chromium(work / "profile", work) as browser:
            browser.set_window_size(1360, 520)
            browser.get(viewer.url)
            browser.save_screenshot(str(output))
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
