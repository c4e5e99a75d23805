// Whole pages and the fragments the page's script fetches: layout, sign-in, capacity, log view, job progress.
import { capacityFigures, FINISHED_STATES, formatBytes, formatCpu, hasScope, tailLines } from "./format";
import { html, raw, SafeHtml } from "./html";
import { PAGE_CSS, PAGE_JS } from "./assets";
import { environmentList } from "./renderEnvironments";
import { CSRF_FIELD } from "./session";
import type { JobView, ListView, LogView, PageContext } from "./view";
import type { CapacityReport } from "../../observeTypes";

// Built apart from the templates so that the tags' content is exactly the hashed text the CSP allows.
const STYLE_TAG = raw(`<style>${PAGE_CSS}</style>`);
const SCRIPT_TAG = raw(`<script>${PAGE_JS}</script>`);

export function layout(title: string, body: SafeHtml, ctx?: PageContext): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        ${STYLE_TAG}
      </head>
      <body>
        <header>
          <h1>QA environments</h1>
          ${
            ctx
              ? html`<form method="post" action="/sign-out" class="sign-out">
                  <span>Signed in as <strong>${ctx.caller.name}</strong> (${ctx.caller.scopes.join(", ")})</span>
                  <input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}" />
                  <button type="submit">Sign out</button>
                </form>`
              : ""
          }
        </header>
        <main id="main">${body}</main>
        ${ctx ? SCRIPT_TAG : ""}
      </body>
    </html> `.value;
}

export function signInPage(problem?: string): string {
  return layout(
    "Sign in · QA environments",
    html`<h2>Sign in</h2>
      ${problem ? html`<p class="error" role="alert" id="sign-in-error">${problem}</p>` : ""}
      <form method="post" action="/sign-in" class="sign-in">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">Use a token from QA_TOKENS_FILE. It is kept in an HttpOnly cookie and never shown.</p>`,
  );
}

function meter(label: string, id: string, used: number, total: number, text: string): SafeHtml {
  return html`<div class="meter">
    <label for="${id}">${label}</label>
    <meter id="${id}" min="0" max="${total}" value="${used}" low="${total * 0.7}" high="${total * 0.9}" optimum="0">
      ${text}
    </meter>
    <span>${text}</span>
  </div>`;
}

export function capacityBar(report: CapacityReport | undefined, problem?: string): SafeHtml {
  if (!report) {
    return html`<section aria-labelledby="capacity-heading" id="capacity">
      <h2 id="capacity-heading">Capacity</h2>
      <p class="error">Capacity could not be read: ${problem ?? "unknown"}</p>
    </section>`;
  }
  const f = capacityFigures(report);
  const fit = f.environmentsThatFit;
  return html`<section aria-labelledby="capacity-heading" id="capacity">
    <h2 id="capacity-heading">Capacity</h2>
    ${meter(
      "CPU requested",
      "capacity-cpu",
      f.cpu.usedMillis,
      f.cpu.totalMillis,
      `${formatCpu(f.cpu.usedMillis)} used, ${formatCpu(f.cpu.totalMillis - f.cpu.usedMillis)} free of ${formatCpu(f.cpu.totalMillis)}`,
    )}
    ${meter(
      "Memory requested",
      "capacity-memory",
      f.memory.usedBytes,
      f.memory.totalBytes,
      `${formatBytes(f.memory.usedBytes)} used, ${formatBytes(f.memory.totalBytes - f.memory.usedBytes)} free of ${formatBytes(f.memory.totalBytes)}`,
    )}
    ${meter("Pods", "capacity-pods", f.pods.used, f.pods.total, `${f.pods.used} used, ${f.pods.total - f.pods.used} free of ${f.pods.total}`)}
    <p id="capacity-fit">
      <strong>${fit === 1 ? "1 more environment fits" : `${fit} more environments fit`}</strong>
      <span class="muted"
        >(limited by ${f.limitedBy}; ${report.nodes.length} schedulable
        node${report.nodes.length === 1 ? "" : "s"})</span
      >
    </p>
  </section>`;
}

/** What the page's auto-refresh replaces: the capacity and the list, nothing the user is working in. */
export function listFragment(list: ListView, ctx: PageContext): SafeHtml {
  return html`${capacityBar(list.capacity, list.capacityError)}
    <section aria-labelledby="environments-heading">
      <h2 id="environments-heading">Environments</h2>
      ${environmentList(list, ctx)}
    </section>`;
}

function deployForm(ctx: PageContext): SafeHtml {
  if (!hasScope(ctx.caller, "deploy")) return html``;
  return html`<section aria-labelledby="deploy-heading">
    <h2 id="deploy-heading">Deploy an environment</h2>
    <form method="post" action="/ui/environments" class="deploy" data-confirm="Deploy this ticket?">
      <input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}" />
      <label for="deploy-ticket">Ticket</label>
      <input
        id="deploy-ticket"
        name="ticket"
        required
        pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*"
        placeholder="VERBU-6202"
      />
      <label for="deploy-services"
        >Services built on the branch
        <span class="muted">(optional, comma-separated; empty: detected from the registry)</span></label
      >
      <input id="deploy-services" name="services" placeholder="auth,wallet" />
      <button type="submit">Deploy</button>
    </form>
  </section>`;
}

export function statusPage(list: ListView, ctx: PageContext): string {
  return layout(
    "QA environments",
    html`${deployForm(ctx)}
      <section
        id="jobs"
        aria-labelledby="jobs-heading"
        aria-live="polite"
        ${hasScope(ctx.caller, "deploy") ? "" : html` hidden`}
      >
        <h2 id="jobs-heading">Jobs</h2>
        <div id="job-list"></div>
      </section>
      <div id="list" data-refresh="/ui/environments" data-interval="${ctx.refreshMs ?? 5000}">
        ${listFragment(list, ctx)}
      </div>
      <section id="log-view" aria-labelledby="log-heading" hidden tabindex="-1"></section>
      <dialog id="confirm" aria-labelledby="confirm-text">
        <p id="confirm-text"></p>
        <button type="button" value="yes" id="confirm-yes">Yes, go ahead</button>
        <button type="button" value="no" id="confirm-no">Cancel</button>
      </dialog>
      <p class="muted" id="refresh-note">The list refreshes every few seconds.</p>`,
    ctx,
  );
}

export function logFragment(view: LogView): SafeHtml {
  const several = new Set(view.lines.map((l) => l.pod)).size > 1;
  const text = view.lines.map((l) => (several ? `[${l.pod}] ${l.text}` : l.text)).join("\n");
  return html`<h2 id="log-heading">${view.previous ? "Previous log" : "Log"} of ${view.service} in ${view.ticket}</h2>
    <p class="muted">
      Last ${view.tail} lines per pod${view.previous ? ", of the previous (crashed) container" : ""}.
      <button type="button" id="log-close">Close log</button>
    </p>
    ${view.lines.length ? html`<pre class="log" tabindex="0" aria-label="log lines">${text}</pre>` : html`<p>No log lines.</p>`}`;
}

export function logPage(view: LogView, ctx: PageContext): string {
  return layout(
    `Log of ${view.service} · ${view.ticket}`,
    html`${logFragment(view)}
      <p><a href="/">Back to the list</a></p>`,
    ctx,
  );
}

export function jobFragment(view: JobView): SafeHtml {
  const { job } = view;
  const done = FINISHED_STATES.has(job.state);
  const tail = tailLines(view.output, 200);
  return html`<article
    class="job"
    data-job="${job.id}"
    data-finished="${done ? "true" : "false"}"
    aria-busy="${done ? "false" : "true"}"
  >
    <h3>
      ${job.kind === "deploy" ? "Deploy" : "Remove"} ${job.ticket}:
      <span class="badge job-${job.state}">${job.state}</span>
    </h3>
    <p class="muted">
      Job <code>${job.id}</code>, requested by ${job.requestedBy} at
      <time datetime="${job.createdAt}">${job.createdAt}</time>${
        job.finishedAt ? html`, finished <time datetime="${job.finishedAt}">${job.finishedAt}</time>` : ""
      }
    </p>
    ${job.error ? html`<p class="error" role="alert">${job.error.name} (exit ${job.error.exitCode}): ${job.error.message}</p>` : ""}
    ${tail.omitted ? html`<p class="muted">${tail.omitted} earlier lines not shown.</p>` : ""}
    <pre class="log" tabindex="0" aria-label="job output">${tail.text}</pre>
  </article>`;
}

export function jobPage(view: JobView, ctx: PageContext): string {
  return layout(
    `Job ${view.job.id}`,
    html`${jobFragment(view)}
      <p><a href="/">Back to the list</a></p>`,
    ctx,
  );
}

/** For bad input and refusals: says what was wrong and what to do; the page's script shows it in place. */
export function problemPage(title: string, message: string, ctx?: PageContext): string {
  return layout(
    title,
    html`<h2>${title}</h2>
      <p class="error" role="alert">${message}</p>
      <p><a href="/">Back to the list</a></p>`,
    ctx,
  );
}

/** Without the page's script, an action is confirmed on a page of its own: the same form again, with confirmed=yes. */
export function confirmPage(
  question: string,
  action: string,
  fields: Readonly<Record<string, string>>,
  ctx: PageContext,
): string {
  return layout(
    "Confirm · QA environments",
    html`<h2>Confirm</h2>
      <form method="post" action="${action}">
        <p>${question}</p>
        ${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}
        <input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}" />
        <input type="hidden" name="confirmed" value="yes" />
        <button type="submit">Yes, go ahead</button> <a href="/">Cancel</a>
      </form>`,
    ctx,
  );
}
