"""Benchmark (a), plain Python: COUNT small messages with email + smtplib,
a new connection each. Usage: smtplib_small.py PORT COUNT."""

import smtplib
import sys
import time
from email.message import EmailMessage

port, count = int(sys.argv[1]), int(sys.argv[2])
start = time.perf_counter()
for i in range(count):
    msg = EmailMessage()
    msg["From"] = "reports@example.com"
    msg["To"] = "ops@example.com"
    msg["Subject"] = f"Nightly report {i}"
    msg.set_content(f"Nightly report {i}\n\nAll 42 checks passed.\n")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(msg)
print(f"BENCH {time.perf_counter() - start}")
