"""Step 3: pure Python. The message is an email.message.EmailMessage, sent
with tclbridge.smtp.sendmessage: the same engine, options and envelope rules
as the Tcl command, so the mail is the same as in steps 1 and 2.

    python step3_nightly_report.py SERVER PORT
"""

from __future__ import annotations

import sys
from email.message import EmailMessage

import report_data

from tclbridge.smtp import sendmessage


def summary_text(rows: list[tuple[str, ...]]) -> str:
    down = [host for host, status, _ in rows if status != "ok"]
    text = f"Nightly report: {len(rows)} hosts, {len(down)} not ok\n"
    if down:
        text += f"Not ok: {', '.join(down)}\n"
    text += "\n"
    for host, status, uptime in rows:
        text += f"{host:<8} {status:<9} {uptime}%\n"
    return text


def csv_text(rows: list[tuple[str, ...]]) -> str:
    return "host,status,uptime\n" + "".join(",".join(row) + "\n" for row in rows)


def build_report(rows: list[tuple[str, ...]]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Nightly Reports <reports@example.com>"
    msg["To"] = "ops@example.com"
    msg["Cc"] = "audit@example.com"
    msg["Subject"] = "Nightly host report"
    msg.set_content(summary_text(rows))
    msg.add_attachment(csv_text(rows).encode(), maintype="text", subtype="csv",
                       params={"charset": "utf-8"}, filename="hosts.csv")
    return msg


def main(server: str, port: str) -> None:
    refused = sendmessage(build_report(report_data.read_hosts()), servers=[server],
                          ports=[port], originator="reports@example.com", atleastone=True)
    for address, code, text in refused:
        print(f"refused: {address} ({code} {text})")
    print("report sent")


if __name__ == "__main__":
    main(*sys.argv[1:3])
