"""Benchmark (b), plain Python: one message with FILE attached (base64),
built with email and sent with smtplib. Usage: smtplib_attach.py PORT FILE."""

import smtplib
import sys
import time
from email.message import EmailMessage
from pathlib import Path

port, path = int(sys.argv[1]), Path(sys.argv[2])
start = time.perf_counter()
msg = EmailMessage()
msg["From"] = "reports@example.com"
msg["To"] = "ops@example.com"
msg["Subject"] = f"Export {path.name}"
msg.set_content("The export is attached.\n")
msg.add_attachment(
    path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name
)
with smtplib.SMTP("127.0.0.1", port) as smtp:
    smtp.send_message(msg)
print(f"BENCH {time.perf_counter() - start}")
