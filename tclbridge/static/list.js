// The message list, kept up to date: polls /api/messages (same search) and
// rebuilds the table when the captures listed changed (a capture never changes
// once written, so its number stands for it). Every value goes in as text.
"use strict";
(function () {
  const table = document.getElementById("messages");
  const empty = document.getElementById("empty");
  const query = table.dataset.query || "";

  function cell(row, text, href) {
    const td = document.createElement("td");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
    return td;
  }

  function render(messages) {
    const body = document.createElement("tbody");
    for (const m of messages) {
      const tr = document.createElement("tr");
      tr.dataset.number = String(m.number);
      if (m.policy_refused) tr.className = "refused";
      cell(tr, m.name, m.url);
      cell(tr, m.time);
      cell(tr, m.mail_from);
      const more = m.rcpt_more ? ", … and " + m.rcpt_more + " more" : "";
      cell(tr, m.rcpt_tos.join(", ") + more).className = "recipients";
      const subject = m.subject !== null ? m.subject : (m.sent ? "(no subject)" : "(not sent)");
      cell(tr, subject, m.url).className = "subject";
      cell(tr, m.size_text);
      cell(tr, m.tls);
      const policy = cell(tr, "");
      if (m.policy_refused) {
        const mark = document.createElement("span");
        mark.className = "mark";
        mark.title = "the site policy refused a recipient";
        mark.textContent = "refused";
        policy.appendChild(mark);
      }
      body.appendChild(tr);
    }
    table.replaceChild(body, table.tBodies[0]);
    empty.hidden = messages.length > 0;
  }

  async function poll() {
    try {
      const response = await fetch("/api/messages?q=" + encodeURIComponent(query),
                                   {cache: "no-store"});
      if (response.ok) {
        const messages = (await response.json()).messages;
        const listed = Array.from(table.tBodies[0].rows, (row) => row.dataset.number).join();
        if (messages.map((m) => String(m.number)).join() !== listed) render(messages);
      }
    } catch (e) {
      // The viewer stopped or restarted: keep trying.
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
