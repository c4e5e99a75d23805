// What the test stand-in for a cluster's pod network listens on, computed from Pods and Services alone (no sockets
// here, so every rule is unit-tested): an HTTP responder per Ready pod address and port, a TCP forwarder per ClusterIP
// port (what kube-proxy would do), and the hosts file that cluster DNS would answer from. The local control plane
// gives pods 127.64.0.0/16 and Services 127.96.0.0/16 (scripts/lib/local-cluster-common.sh), both loopback, so all of
// it stays on this machine; anything else is refused rather than bound or dialled.
import type { V1Pod, V1Service, V1ServicePort } from "@kubernetes/client-node";

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True only for a plain IPv4 address in 127.0.0.0/8: no names, no IPv6 (not even ::1), no shorthand like "127.1". */
export function isLoopbackIPv4(address: string): boolean {
  const m = DOTTED_QUAD.exec(address);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255) && Number(m[1]) === 127;
}

/** Throws unless address is in 127.0.0.0/8: the pod network must never reach a real network (10.0.0.0/24, ...). */
export function assertLoopback(address: string, what: string): string {
  if (!isLoopbackIPv4(address)) {
    throw new Error(`pod network: refusing to ${what} ${JSON.stringify(address)}: only 127.0.0.0/8 addresses are used`);
  }
  return address;
}

/** An HTTP server on a pod's address: it answers as the pod would, naming itself. */
export interface Responder {
  readonly ip: string;
  readonly port: number;
  readonly pod: string;
  readonly namespace: string;
  /** The pod's app label (`app`, else `app.kubernetes.io/name` as components/specs/labels.ts sets), else its name. */
  readonly service: string;
}

export interface Backend {
  readonly ip: string;
  readonly port: number;
  readonly pod: string;
}

/** A TCP forwarder on a Service's ClusterIP:port to its Ready pods (an empty list: connections are refused). */
export interface Forwarder {
  readonly ip: string;
  readonly port: number;
  readonly service: string;
  readonly namespace: string;
  readonly backends: readonly Backend[];
}

export interface NetworkPlan {
  readonly responders: readonly Responder[];
  readonly forwarders: readonly Forwarder[];
  /** An /etc/hosts: `<svc>.<ns>.svc.cluster.local` and `<svc>.<ns>.svc` for every ClusterIP, and localhost. */
  readonly hosts: string;
}

export const endpointKey = (l: { ip: string; port: number }) => `${l.ip}:${l.port}`;

const isTcp = (protocol: string | undefined) => protocol === undefined || protocol === "TCP";

/** Running, Ready, not being deleted, with a loopback address: what kube-proxy would send traffic to. */
export function isServing(pod: V1Pod): boolean {
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const ip = pod.status?.podIP;
  return pod.status?.phase === "Running" && ready && !pod.metadata?.deletionTimestamp && !!ip && isLoopbackIPv4(ip);
}

function appName(pod: V1Pod): string {
  const labels = pod.metadata?.labels ?? {};
  return labels["app"] ?? labels["app.kubernetes.io/name"] ?? pod.metadata?.name ?? "";
}

function selects(service: V1Service, pod: V1Pod): boolean {
  const selector = service.spec?.selector;
  // A Service without a selector has hand-made endpoints, never pods chosen by labels.
  if (!selector || Object.keys(selector).length === 0) return false;
  if (service.metadata?.namespace !== pod.metadata?.namespace) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The pod port a Service port sends to: a number as is, a name looked up in the containers' ports, none if unknown. */
export function targetPortOf(port: V1ServicePort, pod: V1Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of pod.spec?.containers ?? []) {
    const match = container.ports?.find((p) => p.name === target && isTcp(p.protocol));
    if (match) return match.containerPort;
  }
  return undefined;
}

const hasClusterIP = (s: V1Service) =>
  (s.spec?.type ?? "ClusterIP") === "ClusterIP" && !!s.spec?.clusterIP && isLoopbackIPv4(s.spec.clusterIP);

const byKey = <T extends { ip: string; port: number }>(a: T, b: T) =>
  endpointKey(a).localeCompare(endpointKey(b), "en", { numeric: true });

export function planNetwork(pods: readonly V1Pod[], services: readonly V1Service[]): NetworkPlan {
  const serving = pods.filter(isServing).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const responders = new Map<string, Responder>();
  const respond = (pod: V1Pod, port: number | undefined) => {
    if (port === undefined) return;
    const r = {
      ip: pod.status!.podIP!,
      port,
      pod: pod.metadata?.name ?? "",
      namespace: pod.metadata?.namespace ?? "",
      service: appName(pod),
    };
    if (!responders.has(endpointKey(r))) responders.set(endpointKey(r), r);
  };
  for (const pod of serving) {
    for (const container of pod.spec?.containers ?? []) {
      for (const p of container.ports ?? []) if (isTcp(p.protocol)) respond(pod, p.containerPort);
    }
  }
  const forwarders: Forwarder[] = [];
  for (const service of services.filter(hasClusterIP)) {
    const selected = serving.filter((pod) => selects(service, pod));
    for (const port of (service.spec?.ports ?? []).filter((p) => isTcp(p.protocol))) {
      const backends: Backend[] = [];
      for (const pod of selected) {
        const target = targetPortOf(port, pod);
        respond(pod, target);
        if (target !== undefined)
          backends.push({ ip: pod.status!.podIP!, port: target, pod: pod.metadata?.name ?? "" });
      }
      forwarders.push({
        ip: service.spec!.clusterIP!,
        port: port.port,
        service: service.metadata?.name ?? "",
        namespace: service.metadata?.namespace ?? "",
        backends,
      });
    }
  }
  return {
    responders: [...responders.values()].sort(byKey),
    forwarders: forwarders.sort(byKey),
    hosts: hostsText(services),
  };
}

export function hostsText(services: readonly V1Service[]): string {
  const lines = services
    .filter(hasClusterIP)
    .map((s) => {
      const name = `${s.metadata?.name}.${s.metadata?.namespace}.svc`;
      return `${s.spec!.clusterIP} ${name}.cluster.local ${name}`;
    })
    .sort();
  // ExternalName Services get no line: their target is a name, which resolves through these same lines.
  return ["127.0.0.1 localhost", ...lines].join("\n") + "\n";
}
