"""A child process of a captured script that attacks its parent's journal
socket ($TCLBRIDGE_CAPTURE_JOURNAL), as the script's own process tree can:
`python -m tests.support.hostile_child ACTION ARGS...`, run by the script
with `exec`. It prints what it saw, one line.

nest                  one request of 100 000 "[" (a RecursionError in json)
hold N FILE           N idle connections, then FILE is made; held until killed
                      (at most 60 s)
memory N              N requests of about 250 kB adding decisions to a record
                      of a real connection of its own; prints the parent's
                      resident memory before and after, in MB
unsent N              N records of sends kept off the network
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path


def journal() -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(30)
    sock.connect(os.environ["TCLBRIDGE_CAPTURE_JOURNAL"])
    return sock


def ask(sock: socket.socket, answers: object, message: object) -> bytes:
    sock.sendall(json.dumps(message).encode() + b"\n")
    return answers.readline()  # type: ignore[attr-defined, no-any-return]


def parent_memory_mb() -> int:
    for line in Path(f"/proc/{os.getppid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def main(action: str, *args: str) -> None:
    if action == "nest":
        with journal() as sock:
            sock.sendall(b"[" * 100_000 + b"\n")
            print(f"answer {sock.makefile('rb').readline()!r}")
    elif action == "hold":
        held = [journal() for _ in range(int(args[0]))]
        Path(args[1]).write_text("ready")
        time.sleep(60)
        del held
    elif action == "memory":
        host, port = os.environ["TCLBRIDGE_CAPTURE_SERVER"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as tcp, journal() as sock:
            answers = sock.makefile("rb")
            host, port = tcp.getsockname()[:2]
            peer = f"{host}:{port}"
            ask(sock, answers, {"op": "connected", "peer": peer,
                                "record": {"servers": ["x:25"], "policy": [], "refused": []}})
            before = parent_memory_mb()
            item = {"rule": "r", "decision": "d" * 1000}
            taken = sum(ask(sock, answers, {"op": "add", "peer": peer, "policy": [item] * 240,
                                            "refused": []}) == b"ok\n"
                        for _ in range(int(args[0])))
            print(f"taken {taken} memory {before} -> {parent_memory_mb()} MB")
    elif action == "unsent":
        with journal() as sock:
            answers = sock.makefile("rb")
            record = {"servers": ["x:25"], "policy": [], "refused": []}
            started = time.monotonic()
            for _ in range(int(args[0])):
                ask(sock, answers, {"op": "unsent", "sender": "a@example.com", "record": record})
                ask(sock, answers, {"op": "unsent-done"})
            print(f"sent in {time.monotonic() - started:.1f} s")
    else:
        raise SystemExit(f"no such action: {action}")


if __name__ == "__main__":
    main(*sys.argv[1:])
