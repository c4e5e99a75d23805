// The environment list: a row per environment and, under it, its per-service table (open or closed).
import type { EnvironmentStatus, ServiceStatus } from "../../observeTypes";
import { ago, formatDuration, healthRollup, hasScope, shortDigest } from "./format";
import { html, SafeHtml } from "./html";
import { CSRF_FIELD } from "./session";
import type { EnvironmentView, ListView, PageContext } from "./view";

/** An id-safe form of a ticket (tickets are [A-Za-z0-9_.-], but ids must not contain dots for CSS selectors). */
export function domId(prefix: string, ticket: string): string {
  return `${prefix}-${ticket.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export function ticketLink(ticket: string, jiraBrowseUrl: string | undefined): SafeHtml {
  if (!jiraBrowseUrl) return html`<span class="ticket">${ticket}</span>`;
  return html`<a class="ticket" href="${jiraBrowseUrl + encodeURIComponent(ticket)}">${ticket}</a>`;
}

/** Only http(s) links are rendered as links: a javascript: URL from a hostile ingress host must not become one. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function frontEndLinks(status: EnvironmentStatus | undefined, ctx: PageContext): SafeHtml {
  const links = ctx.frontEnds.flatMap((fe) => {
    const url = safeUrl(status?.appLinks[fe.service]);
    return url ? [html`<li><a href="${url}">${fe.label}</a></li>`] : [];
  });
  return links.length
    ? html`<ul class="front-ends">
        ${links}
      </ul>`
    : html`<span class="muted">none</span>`;
}

export function healthBadge(view: EnvironmentView): SafeHtml {
  if (!view.status) return html`<span class="badge failing">unknown</span>`;
  const rollup = healthRollup(view.status, view.summary.updateInProgress);
  const detail = rollup.total ? ` ${rollup.ready}/${rollup.total} ready` : "";
  return html`<span class="badge ${rollup.health}">${rollup.health}</span><span class="muted">${detail}</span>${
      rollup.summary ? html`<br /><span class="muted">${rollup.summary}</span>` : ""
    }`;
}

function actions(ticket: string, ctx: PageContext): SafeHtml {
  if (!hasScope(ctx.caller, "deploy")) return html``;
  return html`<div class="actions">
    <form method="post" action="/ui/environments" data-confirm="Update ${ticket}? Its services are redeployed.">
      <input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}" />
      <input type="hidden" name="ticket" value="${ticket}" />
      <button type="submit">Update</button>
    </form>
    <form
      method="post"
      action="/ui/environments/${ticket}/delete"
      data-confirm="Remove ${ticket}? Its namespace and stack are destroyed."
    >
      <input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}" />
      <button type="submit" class="danger">Remove</button>
    </form>
  </div>`;
}

function logsUrl(ticket: string, service: string, previous: boolean): string {
  const base = `/ui/environments/${encodeURIComponent(ticket)}/services/${encodeURIComponent(service)}/logs`;
  return previous ? `${base}?previous=true` : base;
}

export function serviceRow(ticket: string, s: ServiceStatus): SafeHtml {
  return html`<tr>
    <th scope="row">${s.service}</th>
    <td><code>${s.tag}</code></td>
    <td><code title="${s.digest ?? ""}">${shortDigest(s.digest)}</code></td>
    <td>${s.builtOnBranch ? "yes" : "no"}</td>
    <td>${s.readyReplicas}/${s.desiredReplicas}</td>
    <td>${s.restartCount}</td>
    <td>
      <span class="badge ${s.state}">${s.state}</span>${s.reason ? html` <span class="reason">${s.reason}</span>` : ""}
    </td>
    <td>
      <a class="logs" href="${logsUrl(ticket, s.service, false)}" data-log
        >logs<span class="sr-only"> of ${s.service}</span></a
      >${
        s.restartCount > 0
          ? html` <a class="logs" href="${logsUrl(ticket, s.service, true)}" data-log
              >previous<span class="sr-only"> log of ${s.service}</span></a
            >`
          : ""
      }
    </td>
  </tr>`;
}

export function servicesTable(view: EnvironmentView): SafeHtml {
  const ticket = view.summary.ticket;
  if (view.error) return html`<p class="error" role="alert">Status of ${ticket} could not be read: ${view.error}</p>`;
  const services = view.status?.services ?? [];
  if (!view.status?.exists) return html`<p>${ticket} has no namespace on the cluster (not deployed, or removed).</p>`;
  if (services.length === 0) return html`<p>${ticket} runs no services.</p>`;
  return html`<table class="services">
    <caption>
      Services of ${ticket}
    </caption>
    <thead>
      <tr>
        <th scope="col">Service</th>
        <th scope="col">Image tag</th>
        <th scope="col">Digest</th>
        <th scope="col">Built on branch</th>
        <th scope="col">Ready</th>
        <th scope="col">Restarts</th>
        <th scope="col">Status</th>
        <th scope="col">Logs</th>
      </tr>
    </thead>
    <tbody>
      ${services.map((s) => serviceRow(ticket, s))}
    </tbody>
  </table>`;
}

/** One environment: its summary row and its details row, in their own tbody so a refresh can replace both. */
export function environmentRows(view: EnvironmentView, ctx: PageContext, expanded: boolean): SafeHtml {
  const { summary, status } = view;
  const ticket = summary.ticket;
  const detailsId = domId("services", ticket);
  const record = status?.record ?? summary.record;
  const url = safeUrl(status?.url);
  return html`<tbody class="environment" data-ticket="${ticket}" id="${domId("env", ticket)}">
    <tr>
      <th scope="row">
        <button
          type="button"
          class="expander"
          aria-expanded="${expanded ? "true" : "false"}"
          aria-controls="${detailsId}"
          id="${domId("expand", ticket)}"
        >
          <span aria-hidden="true" class="chevron"></span><span class="sr-only">Services of ${ticket}</span>
        </button>
        ${ticketLink(ticket, ctx.jiraBrowseUrl)}
      </th>
      <td>${url ? html`<a href="${url}">${url}</a>` : html`<span class="muted">none</span>`}</td>
      <td>${status?.ageMs !== undefined ? formatDuration(status.ageMs) : ""}</td>
      <td>${record?.deployedBy ?? ""}</td>
      <td>
        ${record ? html`<time datetime="${record.lastDeployedAt}">${ago(record.lastDeployedAt, ctx.now)}</time>` : ""}
      </td>
      <td>${healthBadge(view)}</td>
      <td>${frontEndLinks(status, ctx)}</td>
      <td>${actions(ticket, ctx)}</td>
    </tr>
    <tr class="details" id="${detailsId}" ${expanded ? "" : html` hidden`}>
      <td colspan="8">${servicesTable(view)}</td>
    </tr>
  </tbody>`;
}

export function environmentList(list: ListView, ctx: PageContext): SafeHtml {
  if (list.environments.length === 0) return html`<p id="no-environments">No environments yet.</p>`;
  return html`<table class="environments">
    <caption>
      Environments (${list.environments.length})
    </caption>
    <thead>
      <tr>
        <th scope="col">Ticket</th>
        <th scope="col">URL</th>
        <th scope="col">Age</th>
        <th scope="col">Created by</th>
        <th scope="col">Last deploy</th>
        <th scope="col">Health</th>
        <th scope="col">Front-ends</th>
        <th scope="col"><span class="sr-only">Actions</span></th>
      </tr>
    </thead>
    ${list.environments.map((view) => environmentRows(view, ctx, list.expanded.has(view.summary.ticket)))}
  </table>`;
}
