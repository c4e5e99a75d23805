// Human output of what is read from the cluster: status (a table per service), capacity (the sentence and the
// room per node) and log lines.
import type { CapacityReport, EnvironmentStatus, LogLine, Resources } from "../observeTypes";
import { recordLine } from "./formatRun";
import { age, cpu, memory, table } from "./table";

export function formatStatus(status: EnvironmentStatus): string {
  if (!status.exists) {
    return `${status.ticket}: namespace ${status.namespace} is not on the cluster (never deployed, or destroyed)`;
  }
  const active = status.services.filter((s) => s.state === "active").length;
  const rows = [...status.services]
    .sort((a, b) => a.service.localeCompare(b.service))
    .map((s) => [
      s.service,
      s.state,
      `${s.readyReplicas}/${s.desiredReplicas}`,
      String(s.restartCount),
      s.builtOnBranch ? `${s.tag} (branch)` : s.tag,
      s.reason ?? "",
    ]);
  const links = Object.entries(status.appLinks).sort(([a], [b]) => a.localeCompare(b));
  return [
    `${status.ticket} (namespace ${status.namespace}): ${active}/${status.services.length} services active`,
    `url: ${status.url ?? "-"}`,
    `age: ${status.ageMs === undefined ? "-" : age(status.ageMs)}; ${recordLine(status.record)}`,
    ...(links.length ? ["app links:", ...links.map(([service, url]) => `  ${service}: ${url}`)] : []),
    "",
    table(["SERVICE", "STATE", "READY", "RESTARTS", "IMAGE TAG", "REASON"], rows),
  ].join("\n");
}

function resources(r: Resources): string {
  return `${cpu(r.cpuMillis)} / ${memory(r.memoryBytes)} / ${r.pods} pods`;
}

const LIMIT_NAMES: Record<CapacityReport["limitedBy"], string> = {
  cpu: "CPU",
  memory: "memory",
  pods: "pods",
  "largest-pod": "the largest pod",
};

/** `3 more environments of this size fit; limited by memory`, the totals, and the room on every node. */
export function formatCapacity(report: CapacityReport): string {
  const n = report.environmentsThatFit;
  const limit =
    report.limitedBy === "largest-pod"
      ? `the largest pod (${report.largestPod.name}: ${resources(report.largestPod)}) fits on no node`
      : LIMIT_NAMES[report.limitedBy];
  const rows = [...report.nodes]
    .sort((a, b) => a.node.localeCompare(b.node))
    .map((node) => [
      node.node,
      cpu(node.free.cpuMillis),
      memory(node.free.memoryBytes),
      String(node.free.pods),
      resources(node.allocatable),
    ]);
  return [
    `${n} more environment${n === 1 ? " of this size fits" : "s of this size fit"}; limited by ${limit}`,
    `one environment needs ${resources(report.perEnvironment)}; largest pod ${report.largestPod.name} ${resources(report.largestPod)}`,
    `free: ${resources(report.free)} on ${report.nodes.length} schedulable node${report.nodes.length === 1 ? "" : "s"} (headroom kept per node: ${resources(report.headroom)})`,
    "",
    table(["NODE", "FREE CPU", "FREE MEMORY", "FREE PODS", "ALLOCATABLE"], rows),
  ].join("\n");
}

/** One log line; `[pod/container]` in front when the lines come from several pods (or may, while following). */
export function formatLogLine(line: LogLine, prefixed: boolean): string {
  return prefixed ? `[${line.pod}/${line.container}] ${line.text}` : line.text;
}

export function formatLogs(lines: readonly LogLine[]): string {
  const prefixed = new Set(lines.map((l) => l.pod)).size > 1;
  return lines.map((line) => formatLogLine(line, prefixed)).join("\n");
}
