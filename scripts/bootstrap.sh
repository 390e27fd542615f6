#!/usr/bin/env bash
# Set up a machine for tclbridge and run something with it.
#   scripts/bootstrap.sh example   run examples/send_simple_message.tcl against
#                                  the embedded capture server (mail -> ./capture)
#   scripts/bootstrap.sh test      run the whole test suite (pytest + compat suite)
#                                  on every Python 3.10-3.13 found (nox, noxfile.py)
# Both install what is missing, and only what their command needs: `example`
# Python's tkinter and venv, then a virtualenv in .venv with the project;
# `test` also Debian's tcllib and tcl-tls (the reference implementation, for the
# differential tests), Xvfb (Tk tests), Postfix (interop tests), Chromium and
# chromedriver (the web viewer's browser tests), and the test
# tools and nox in .venv. nox makes a virtualenv of its own per Python version.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}
case "$mode" in
    example|test) ;;
    *) echo "usage: $0 example|test" >&2; exit 2 ;;
esac

PY=${PYTHON:-python3}
need_apt=()
"$PY" -c "import tkinter" 2>/dev/null || need_apt+=(python3-tk)
"$PY" -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
if [ "$mode" = test ]; then
    [ -d /usr/share/tcltk/tcllib1.21 ] || ls -d /usr/share/tcltk/tcllib* >/dev/null 2>&1 || need_apt+=(tcllib)
    command -v tclsh >/dev/null 2>&1 || need_apt+=(tcl)
    dpkg -s tcl-tls >/dev/null 2>&1 || need_apt+=(tcl-tls)
    # Tk event-loop tests run a real X server.
    command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
    # Namespace tests (hermetic capture, a name with several addresses) use
    # unshare and mount (util-linux) and ip (iproute2).
    command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
    command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
    # The web viewer's browser tests drive Debian's Chromium through chromedriver.
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
    [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi

case "$mode" in
    example)
        .venv/bin/python -m pip install -q --disable-pip-version-check -e .
        exec .venv/bin/tclbridge run --capture capture examples/send_simple_message.tcl
        ;;
    test)
        .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,ci,ui]'
        .venv/bin/python -m ruff check tclbridge tests compat_suite bench
        .venv/bin/python -m mypy
        # The real MTA of the interop tests (Postfix + Cyrus SASL), installed
        # here in the set-up rather than in the middle of the test run.
        .venv/bin/python -c "from tests.support.postfix_harness import ensure_packages; ensure_packages()"
        # One session per Python version, one after the other (noxfile.py); a
        # version that is not installed is skipped with a line saying so. A run
        # in which every version was skipped ran no test: that fails too.
        report=.nox/report.json
        mkdir -p .nox; rm -f "$report"
        status=0
        .venv/bin/python -m nox --report "$report" || status=$?
        .venv/bin/python - "$report" <<'PY' || status=1
import json, sys
sessions = json.load(open(sys.argv[1]))["sessions"]
if all(s["result"] == "skipped" for s in sessions):
    sys.exit("no Python 3.10-3.13 with tkinter was found: no test ran")
PY
        exit "$status"
        ;;
esac
