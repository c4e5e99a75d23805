// Human output of deploy, preview, destroy and list: what changed, where it runs, which images, how long it took.
import type { OpMap } from "@pulumi/pulumi/automation";
import type { DeploymentRecord } from "../records";
import type { DeployResult, DestroyResult, EnvironmentSummary, PreviewResult, RunResult } from "../types";
import { seconds, table, when } from "./table";

// Stable order, so the summaries of consecutive runs compare at a glance.
const DONE: readonly [string, string][] = [
  ["create", "created"],
  ["update", "updated"],
  ["replace", "replaced"],
  ["delete", "deleted"],
  ["same", "unchanged"],
];
const PLANNED: readonly [string, string][] = [
  ["create", "to create"],
  ["update", "to update"],
  ["replace", "to replace"],
  ["delete", "to delete"],
  ["same", "unchanged"],
];

/** { create: 12, same: 224 } → "12 created, 224 unchanged"; other operations by their own name. */
export function changeSummary(changes: OpMap, planned = false): string {
  const labels = planned ? PLANNED : DONE;
  const entries = Object.entries(changes).filter(([, n]) => n);
  const known = labels
    .filter(([op]) => changes[op as keyof OpMap])
    .map(([op, label]) => `${changes[op as keyof OpMap]} ${label}`);
  const other = entries.filter(([op]) => !labels.some(([k]) => k === op)).map(([op, n]) => `${n} ${op}`);
  const all = [...known, ...other];
  return all.length ? all.join(", ") : "no changes";
}

function durationLine(result: RunResult): string {
  const d = result.durations;
  const parts = [`engine ${seconds(d.engineMs)}`];
  if (d.queuedMs >= 100) parts.unshift(`queued ${seconds(d.queuedMs)}`);
  if (d.lockWaitMs >= 100) parts.unshift(`waited for lock ${seconds(d.lockWaitMs)}`);
  if (d.recoveryMs >= 100) parts.push(`crash recovery ${seconds(d.recoveryMs)}`);
  return `took ${seconds(d.totalMs)} (${parts.join(", ")})`;
}

function recoveredLine(result: RunResult): string[] {
  return result.recoveredPendingOperations
    ? [`recovered ${result.recoveredPendingOperations} pending operations left by a crashed run`]
    : [];
}

export function recordLine(record: DeploymentRecord | undefined): string {
  if (!record) return "deployed by: unknown (not deployed through qa-env)";
  const build = record.build ? `, build ${record.build}` : "";
  return `deployed by ${record.deployedBy} (${record.deployedBySource})${build}; created ${when(record.createdAt)}, last deployed ${when(record.lastDeployedAt)}`;
}

export function formatDeploy(result: DeployResult): string {
  const branch = new Set(result.featureServices);
  const rows = Object.entries(result.images)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, image]) => [service, image, branch.has(service) ? "built on branch" : ""]);
  return [
    `${result.ticket} deployed: ${changeSummary(result.changes)}`,
    `url: ${result.url || "-"}`,
    `namespace: ${result.namespace}`,
    ...recoveredLine(result),
    `images (${rows.length}, ${branch.size} built on the branch):`,
    indent(table(["SERVICE", "IMAGE", ""], rows)),
    recordLine(result.record),
    durationLine(result),
  ].join("\n");
}

export function formatPreview(result: PreviewResult): string {
  return [`${result.ticket} preview: ${changeSummary(result.changes, true)}`, durationLine(result)].join("\n");
}

export function formatDestroy(result: DestroyResult): string {
  return [
    `${result.ticket} destroyed: ${changeSummary(result.changes)}; stack ${result.stack} removed`,
    ...recoveredLine(result),
    durationLine(result),
  ].join("\n");
}

export function formatList(environments: readonly EnvironmentSummary[]): string {
  if (environments.length === 0) return "no environments";
  const rows = [...environments]
    .sort((a, b) => a.ticket.localeCompare(b.ticket))
    .map((e) => [
      e.ticket,
      e.record?.deployedBy ?? "-",
      e.record?.build ?? "-",
      when(e.record?.createdAt),
      when(e.record?.lastDeployedAt ?? e.lastUpdate),
      e.resourceCount === undefined ? "-" : String(e.resourceCount),
      e.updateInProgress ? "update in progress" : "",
    ]);
  return table(["TICKET", "DEPLOYED BY", "BUILD", "CREATED", "LAST DEPLOYED", "RESOURCES", ""], rows);
}

export function indent(text: string, prefix = "  "): string {
  return text
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}
