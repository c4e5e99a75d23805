// The page's only style and script, inlined (one request, no CDN) and allowed by the Content-Security-Policy through
// their hashes, so no other inline script can run even if some markup escaped escaping.
import { createHash } from "node:crypto";

// Colours chosen for WCAG AA contrast (≥ 4.5:1) of text on its background.
export const PAGE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5360; --bg: #ffffff; --line: #c8ced6; --link: #0b57d0;
  --ok: #0f6b2f; --bad: #a8071a; --warn: #8a4b00; --info: #1d4ed8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
header { display: flex; justify-content: space-between; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; margin: 0; } h2 { font-size: 1.1rem; margin: 1rem 0 .5rem; } h3 { font-size: 1rem; margin: .25rem 0; }
main { padding: 0 1rem 2rem; }
a { color: var(--link); }
:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
table.services { margin: .25rem 0 .75rem; background: #f6f8fa; }
.muted { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .6rem; border: 1px solid currentColor; font-size: .85rem; }
.healthy, .active, .job-succeeded { color: var(--ok); }
.failing, .job-failed, .job-interrupted, .job-cancelled { color: var(--bad); }
.progressing, .pending, .updating, .deploying, .job-running, .job-queued { color: var(--warn); }
.not-deployed, .empty, .scaled-down { color: var(--muted); }
.reason { color: var(--fg); font-size: .9rem; }
.front-ends { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .2rem .6rem; font-size: .85rem; }
.actions { display: flex; gap: .3rem; }
button { font: inherit; padding: .2rem .7rem; border: 1px solid #3c4650; border-radius: .3rem; background: #eef1f4; color: var(--fg); cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); background: #fff5f5; }
.expander { padding: 0 .35rem; margin-right: .3rem; }
.expander .chevron::before { content: "\\25B8"; }
.expander[aria-expanded="true"] .chevron::before { content: "\\25BE"; }
.meter { display: grid; grid-template-columns: 10rem minmax(8rem, 24rem) auto; gap: .5rem; align-items: center; }
meter { width: 100%; height: 1.1rem; }
pre.log { background: #161b22; color: #e6edf3; padding: .5rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; }
form.deploy, form.sign-in { display: grid; grid-template-columns: max-content minmax(10rem, 24rem); gap: .4rem .6rem; align-items: center; }
form.deploy button, form.sign-in button { grid-column: 2; justify-self: start; }
input { font: inherit; padding: .2rem .4rem; border: 1px solid #5b6570; border-radius: .25rem; }
dialog { border: 1px solid var(--line); border-radius: .4rem; padding: 1rem 1.25rem; }
dialog::backdrop { background: rgba(0, 0, 0, .35); }
`;

export const PAGE_JS = `
(() => {
  "use strict";
  const main = document.getElementById("main");
  const list = document.getElementById("list");
  const logView = document.getElementById("log-view");
  const jobList = document.getElementById("job-list");
  const dialog = document.getElementById("confirm");
  const csrfInput = document.querySelector('input[name="csrf"]');
  const csrf = csrfInput ? csrfInput.value : "";
  const FRAGMENT = { "x-qa-fragment": "1" };
  // What the user opened survives every refresh: the server renders these expanded, the page remembers them.
  const expanded = new Set(Array.from(document.querySelectorAll('.expander[aria-expanded="true"]'))
    .map((b) => b.closest("tbody").dataset.ticket));
  let lastLogLink = null;

  function setExpanded(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    const details = document.getElementById(button.getAttribute("aria-controls"));
    if (details) details.hidden = !open;
    const ticket = button.closest("tbody").dataset.ticket;
    if (open) expanded.add(ticket); else expanded.delete(ticket);
  }

  async function fetchText(url, init) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, init));
    return { ok: response.ok, status: response.status, text: await response.text() };
  }

  let refreshing = false;
  async function refresh() {
    if (refreshing || document.hidden) return;
    refreshing = true;
    try {
      const query = expanded.size ? "?expanded=" + encodeURIComponent(Array.from(expanded).join(",")) : "";
      const result = await fetchText(list.dataset.refresh + query, { headers: FRAGMENT });
      if (!result.ok) return;
      const focusedId = list.contains(document.activeElement) ? document.activeElement.id : "";
      list.innerHTML = result.text;
      if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
      list.dataset.refreshedAt = new Date().toISOString();
    } catch (e) {
      // The next tick tries again; a restarting service must not break the page.
    } finally {
      refreshing = false;
    }
  }

  async function openLog(link) {
    lastLogLink = link.getAttribute("href");
    const result = await fetchText(link.href, { headers: FRAGMENT });
    logView.innerHTML = result.text;
    logView.hidden = false;
    logView.focus();
  }

  function confirmAction(text) {
    return new Promise((resolve) => {
      document.getElementById("confirm-text").textContent = text;
      const yes = document.getElementById("confirm-yes");
      const no = document.getElementById("confirm-no");
      const done = (answer) => {
        yes.onclick = no.onclick = dialog.oncancel = null;
        dialog.close();
        resolve(answer);
      };
      yes.onclick = () => done(true);
      no.onclick = () => done(false);
      dialog.oncancel = () => done(false);
      dialog.showModal();
      no.focus();
    });
  }

  async function followJob(article) {
    const id = article.dataset.job;
    while (article.dataset.finished !== "true") {
      await new Promise((r) => setTimeout(r, 1000));
      const result = await fetchText("/ui/jobs/" + encodeURIComponent(id), { headers: FRAGMENT });
      if (!result.ok) return;
      const holder = document.createElement("div");
      holder.innerHTML = result.text;
      const fresh = holder.firstElementChild;
      article.replaceWith(fresh);
      article = fresh;
    }
    refresh();
  }

  async function submitAction(form) {
    const body = new URLSearchParams(new FormData(form));
    body.set("confirmed", "yes");
    const result = await fetchText(form.action, {
      method: "POST",
      headers: Object.assign({ "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf }, FRAGMENT),
      body: body.toString(),
    });
    const holder = document.createElement("div");
    holder.innerHTML = result.text;
    const node = holder.firstElementChild || holder;
    jobList.prepend(node);
    if (node.dataset && node.dataset.job) followJob(node);
  }

  main.addEventListener("click", (event) => {
    const expander = event.target.closest(".expander");
    if (expander) return setExpanded(expander, expander.getAttribute("aria-expanded") !== "true");
    const logLink = event.target.closest("a[data-log]");
    if (logLink) { event.preventDefault(); return openLog(logLink); }
    if (event.target.closest("#log-close")) {
      logView.hidden = true;
      const back = lastLogLink && document.querySelector('a[data-log][href="' + CSS.escape(lastLogLink) + '"]');
      if (back) back.focus();
    }
  });

  main.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (!form) return;
    event.preventDefault();
    let text = form.dataset.confirm;
    const ticketInput = form.querySelector('input[name="ticket"]:not([type="hidden"])');
    if (ticketInput) text = "Deploy " + ticketInput.value + "? Its environment is created or updated.";
    if (await confirmAction(text)) await submitAction(form);
  });

  setInterval(refresh, Number(list.dataset.interval || 5000));
  window.qaPage = { refresh, expanded };
})();
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** Only the page's own inline style and script may run; nothing may frame the page (clickjacking). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_JS)}`,
  `style-src ${sha256(PAGE_CSS)}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");
