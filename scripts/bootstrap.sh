#!/usr/bin/env bash
# Set up a machine for tclbridge and run something with it.
#   scripts/bootstrap.sh example   run examples/send_simple_message.tcl against
#                                  the embedded capture server (mail -> ./capture)
#   scripts/bootstrap.sh test      run the whole test suite (pytest + compat suite)
# Installs what is missing: Debian's tcllib and tcl-tls (the reference
# implementation, for the differential tests), Xvfb (Tk tests), then a virtualenv in .venv with
# the project and its test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -d /usr/share/tcltk/tcllib1.21 ] || ls -d /usr/share/tcltk/tcllib* >/dev/null 2>&1 || need_apt+=(tcllib)
command -v tclsh >/dev/null 2>&1 || need_apt+=(tcl)
dpkg -s tcl-tls >/dev/null 2>&1 || need_apt+=(tcl-tls)
# Tk event-loop tests run a real X server.
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
# Namespace tests (hermetic capture, a name with several addresses) use
# unshare and mount (util-linux) and ip (iproute2).
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
PY=${PYTHON:-python3}
"$PY" -c "import tkinter" 2>/dev/null || need_apt+=(python3-tk)
"$PY" -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

case "${1:-test}" in
    example)
        exec .venv/bin/tclbridge run --capture capture examples/send_simple_message.tcl
        ;;
    test)
        .venv/bin/python -m ruff check tclbridge tests compat_suite bench
        .venv/bin/python -m mypy
        # The real MTA of the interop tests (Postfix + Cyrus SASL), installed
        # here in the set-up rather than in the middle of the test run.
        .venv/bin/python -c "from tests.support.postfix_harness import ensure_packages; ensure_packages()"
        exec .venv/bin/python -m pytest -q -p no:cacheprovider tests
        ;;
    *)
        echo "usage: $0 example|test" >&2
        exit 2
        ;;
esac
