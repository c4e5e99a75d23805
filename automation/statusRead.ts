// status() and logs() of the driver: what an environment runs, read from the cluster (@kubernetes/client-node), and
// its pods' container logs through the API server, the way `kubectl logs` gets them from the kubelet. The kubeconfig is
// the stack's own (qa-k8s:kubeconfig, decrypted by getAllConfig and never logged), else the cluster stack's output,
// else $KUBECONFIG: the same as the capacity guard's.
import { PassThrough } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import type { Stack } from "@pulumi/pulumi/automation";
import type { Feature } from "../environments/feature";
import { environmentCluster } from "./capacityGuard";
import { BadInputError } from "./exitCodes";
import type { EnvironmentStatus, LogLine, LogOptions } from "./observeTypes";
import { recordFromTags } from "./records";
import { podsOf, serviceStatus, WorkloadShape } from "./status";

async function clusterOf(stack: Stack, env: Readonly<Record<string, string | undefined>>): Promise<k8s.KubeConfig> {
  const cluster = await environmentCluster(stack, env);
  if (!cluster) {
    throw new BadInputError(`${stack.name} is rendered to files (qa-k8s:renderTo): there is no cluster to read`);
  }
  return cluster;
}

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

/** The status of an environment that is not on the cluster (never deployed, destroyed, or its stack unknown). */
export function absentEnvironment(feature: Feature, record?: EnvironmentStatus["record"]): EnvironmentStatus {
  const base = { ticket: feature.ticket, stack: feature.name, namespace: feature.name };
  return { ...base, ...(record ? { record } : {}), exists: false, appLinks: {}, services: [] };
}

export async function readStatus(stack: Stack, feature: Feature, env: Readonly<Record<string, string | undefined>>) {
  const kc = await clusterOf(stack, env);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const networking = kc.makeApiClient(k8s.NetworkingV1Api);
  const namespace = feature.name;
  const record = recordFromTags(await stack.workspace.listTags(stack.name));
  const base = { ticket: feature.ticket, stack: feature.name, namespace, record };
  let created: Date | undefined;
  try {
    created = (await core.readNamespace({ name: namespace })).metadata?.creationTimestamp;
  } catch (error) {
    if (isNotFound(error)) return absentEnvironment(feature, record);
    throw error;
  }
  const [deployments, statefulSets, pods, ingresses] = await Promise.all([
    apps.listNamespacedDeployment({ namespace }),
    apps.listNamespacedStatefulSet({ namespace }),
    core.listNamespacedPod({ namespace }),
    networking.listNamespacedIngress({ namespace }),
  ]);
  const workloads: WorkloadShape[] = [...deployments.items, ...statefulSets.items];
  const services = workloads
    .map((w) => serviceStatus(w.metadata?.name ?? "", w, pods.items, feature.ticket))
    .sort((a, b) => a.service.localeCompare(b.service));
  const appLinks: Record<string, string> = {};
  for (const ingress of ingresses.items) {
    const service = ingress.metadata?.labels?.["app.kubernetes.io/name"];
    const rule = ingress.spec?.rules?.[0];
    const route = rule?.http?.paths?.[0]?.path ?? "/";
    if (service && rule?.host && !(service in appLinks)) appLinks[service] = `https://${rule.host}${route}`;
  }
  const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
  const url = typeof outputs.url?.value === "string" ? outputs.url.value : undefined;
  return {
    ...base,
    exists: true,
    ...(url ? { url } : {}),
    appLinks,
    ...(created ? { ageMs: Date.now() - new Date(created).getTime() } : {}),
    services,
  } satisfies EnvironmentStatus;
}

/** Every replica's container log, each line with its pod; with follow, until the signal aborts. */
export async function readLogs(
  stack: Stack,
  feature: Feature,
  service: string,
  options: LogOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<LogLine[]> {
  const kc = await clusterOf(stack, env);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespace = feature.name;
  const pods = podsOf(service, (await core.listNamespacedPod({ namespace })).items).filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  if (pods.length === 0) {
    throw new BadInputError(`${feature.ticket}: service "${service}" has no pod in namespace ${namespace}`);
  }
  const lines: LogLine[] = [];
  const log = new k8s.Log(kc);
  await Promise.all(
    pods.map(async (pod) => {
      const podName = pod.metadata!.name!;
      const container = pod.spec?.containers?.find((c) => c.name === service)?.name ?? pod.spec!.containers[0].name;
      const out = new PassThrough();
      let rest = "";
      out.setEncoding("utf8").on("data", (chunk: string) => {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const text of parts) emit({ pod: podName, container, text });
      });
      // The response body is piped into `out`: it ends with the log, or is cut when a follow is aborted.
      const done = new Promise<void>((resolve) => {
        out.on("end", resolve).on("close", resolve);
        options.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      const request = await log.log(namespace, podName, container, out, {
        follow: options.follow ?? false,
        previous: options.previous ?? false,
        ...(options.sinceSeconds !== undefined ? { sinceSeconds: options.sinceSeconds } : {}),
        ...(options.tail !== undefined ? { tailLines: options.tail } : {}),
      });
      options.signal?.addEventListener("abort", () => request.abort(), { once: true });
      await done;
      if (rest) emit({ pod: podName, container, text: rest });
    }),
  );
  return lines;

  function emit(line: LogLine) {
    lines.push(line);
    options.onLine?.(line);
  }
}
