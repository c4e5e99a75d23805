// The network of a real cluster, as test stand-ins, for the local control plane (kwok fakes pods, so nothing answers
// on a pod address unless we do): it polls Pods and Services every ~500 ms and keeps the sockets podNetworkPlan.ts
// asks for. Polling rather than a watch: a missed or restarted watch would leave listeners silently stale, and a list
// of a test cluster's pods is cheap.
import * as fs from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { Listener, Listening, startForwarder, startResponder } from "./podListeners";
import { assertLoopback, Backend, endpointKey, Forwarder, NetworkPlan, planNetwork, Responder } from "./podNetworkPlan";

export interface PodNetworkOptions {
  /** Path of the cluster's kubeconfig (LocalCluster.kubeconfigPath). */
  readonly kubeconfig: string;
  /** Only these namespaces; all of them when absent. */
  readonly namespaces?: readonly string[];
  /** Kept equal to hostsFile(), rewritten in place (a bind mount of it keeps following the same inode). */
  readonly hostsPath?: string;
  readonly intervalMs?: number;
}

export interface PodNetwork {
  /** The plan of the last completed sync. */
  plan(): NetworkPlan;
  hostsFile(): string;
  /** What is bound now, as the kernel reports it. */
  listening(): Listening[];
  /** Errors of the last sync (API unreachable, an address already taken); empty when it went well. */
  errors(): string[];
  /** Resolves after the first completed sync where predicate holds; rejects after timeoutMs (default 60 s). */
  waitFor(predicate: (plan: NetworkPlan) => boolean, timeoutMs?: number): Promise<NetworkPlan>;
  stop(): Promise<void>;
}

const EMPTY: NetworkPlan = { responders: [], forwarders: [], hosts: "127.0.0.1 localhost\n" };

/** The API server is dialled too: it must be on loopback like everything else here. */
function loadCluster(kubeconfig: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const server = new URL(kc.getCurrentCluster()?.server ?? "about:blank");
  assertLoopback(server.hostname, "reach the API server at");
  return kc;
}

export async function startPodNetwork(options: PodNetworkOptions): Promise<PodNetwork> {
  const core = loadCluster(options.kubeconfig).makeApiClient(k8s.CoreV1Api);
  const responders = new Map<string, { info: Responder; listener: Listener }>();
  const forwarders = new Map<string, { info: Forwarder; listener: Listener }>();
  let current = EMPTY;
  let errors: string[] = [];
  let stopped = false;
  const waiters = new Set<() => void>();

  async function read(): Promise<[k8s.V1Pod[], k8s.V1Service[]]> {
    if (!options.namespaces) {
      const [pods, services] = await Promise.all([core.listPodForAllNamespaces(), core.listServiceForAllNamespaces()]);
      return [pods.items, services.items];
    }
    const lists = await Promise.all(
      options.namespaces.map((namespace) =>
        Promise.all([core.listNamespacedPod({ namespace }), core.listNamespacedService({ namespace })]),
      ),
    );
    return [lists.flatMap(([p]) => p.items), lists.flatMap(([, s]) => s.items)];
  }

  // Closes what the plan no longer has, updates what it still has, opens what is new. A failed bind is reported
  // and retried on the next sync rather than ending the network.
  async function reconcile<T extends Responder | Forwarder>(
    open: Map<string, { info: T; listener: Listener }>,
    wanted: readonly T[],
    start: (key: string, info: T) => Promise<Listener>,
  ) {
    const keys = new Set(wanted.map(endpointKey));
    await Promise.all(
      [...open]
        .filter(([key]) => !keys.has(key))
        .map(async ([key, entry]) => {
          open.delete(key);
          await entry.listener.close();
        }),
    );
    for (const info of wanted) {
      const key = endpointKey(info);
      const entry = open.get(key);
      if (entry) {
        entry.info = info;
        continue;
      }
      try {
        open.set(key, { info, listener: await start(key, info) });
      } catch (error) {
        errors.push(`${key}: ${(error as Error).message}`);
      }
    }
  }

  async function sync() {
    const next: string[] = [];
    errors = next;
    try {
      const plan = planNetwork(...(await read()));
      await reconcile(responders, plan.responders, (key, info) =>
        startResponder(info, () => responders.get(key)?.info ?? info),
      );
      const backendsOf = (key: string): readonly Backend[] => forwarders.get(key)?.info.backends ?? [];
      await reconcile(forwarders, plan.forwarders, (key, info) => startForwarder(info, () => backendsOf(key)));
      if (options.hostsPath && plan.hosts !== current.hosts) fs.writeFileSync(options.hostsPath, plan.hosts);
      current = plan;
    } catch (error) {
      next.push(`sync: ${(error as Error).message}`);
    }
    for (const wake of [...waiters]) wake();
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = () => {
    running = sync().then(() => {
      if (!stopped) timer = setTimeout(loop, options.intervalMs ?? 500);
    });
  };
  if (options.hostsPath) fs.writeFileSync(options.hostsPath, EMPTY.hosts);
  loop();
  await running;

  return {
    plan: () => current,
    hostsFile: () => current.hosts,
    listening: () => [...responders.values(), ...forwarders.values()].map((e) => e.listener.listening),
    errors: () => [...errors],
    waitFor: (predicate, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        if (predicate(current)) return resolve(current);
        const deadline = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`pod network: not reached in ${timeoutMs} ms; last errors: ${errors.join("; ") || "none"}`));
        }, timeoutMs);
        const check = () => {
          if (!predicate(current)) return;
          clearTimeout(deadline);
          waiters.delete(check);
          resolve(current);
        };
        waiters.add(check);
      }),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      const all = [...responders.values(), ...forwarders.values()];
      responders.clear();
      forwarders.clear();
      await Promise.all(all.map((e) => e.listener.close()));
    },
  };
}
