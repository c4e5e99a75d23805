// Deployment / StatefulSet / Service objects of one catalog service. Names are explicit (services find each other by
// name, e.g. nsqd:4151) and selectors hold only the service name, so updates never force a replacement.
import type { ServiceSpec } from "../types";
import { selectorLabels, serviceLabels } from "./labels";
import { INIT_CONTAINER_CPU, INIT_CONTAINER_MEMORY } from "./namespace";

export interface WorkloadContext {
  readonly namespace: string;
  /** Name of the registry pull secret in the namespace, when there is one. */
  readonly imagePullSecret?: string;
}

/** Pulumi's annotation that makes the provider return as soon as the API server has accepted an object. */
export const SKIP_AWAIT = "pulumi.com/skipAwait";

export const NSQD_ADDRESS = { host: "nsqd", port: 4151 } as const;

function waitForNsqContainer(image: string) {
  return {
    name: "wait-for-nsqd",
    image,
    command: [
      "sh",
      "-c",
      `until nc -z ${NSQD_ADDRESS.host} ${NSQD_ADDRESS.port}; do echo "waiting for ${NSQD_ADDRESS.host}:${NSQD_ADDRESS.port}"; sleep 2; done`,
    ],
    resources: {
      requests: { cpu: `${INIT_CONTAINER_CPU}m`, memory: `${INIT_CONTAINER_MEMORY / 1024 ** 2}Mi` },
      limits: { cpu: `${INIT_CONTAINER_CPU}m`, memory: `${INIT_CONTAINER_MEMORY / 1024 ** 2}Mi` },
    },
  };
}

function readinessProbe(spec: ServiceSpec) {
  const probe = spec.readinessProbe;
  // The probe targets the "http" port: a worker without a port has nothing to probe (the catalog refuses both).
  if (!probe || spec.port === undefined) return undefined;
  const timing = { initialDelaySeconds: probe.initialDelaySeconds ?? 2, periodSeconds: probe.periodSeconds ?? 5 };
  return probe.tcp
    ? { tcpSocket: { port: "http" }, ...timing }
    : { httpGet: { path: probe.path, port: "http" }, ...timing };
}

export function podTemplate(spec: ServiceSpec, context: WorkloadContext) {
  const container = {
    name: spec.name,
    image: spec.image,
    // A digest-pinned reference never changes content; a plain tag must be pulled to see a re-push.
    imagePullPolicy: spec.image.includes("@sha256:") ? "IfNotPresent" : "Always",
    ...(spec.command ? { command: [...spec.command] } : {}),
    ...(spec.args ? { args: [...spec.args] } : {}),
    ...(spec.port !== undefined
      ? {
          ports: [
            { name: "http", containerPort: spec.port, protocol: "TCP" },
            ...spec.extraPorts.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
          ],
        }
      : {}),
    env: Object.entries(spec.env).map(([name, value]) => ({ name, value })),
    resources: {
      requests: { ...spec.resources.requests },
      limits: { ...spec.resources.limits },
    },
    ...(readinessProbe(spec) ? { readinessProbe: readinessProbe(spec) } : {}),
    ...(spec.storage ? { volumeMounts: [{ name: "data", mountPath: "/data/db" }] } : {}),
  };
  return {
    metadata: {
      labels: serviceLabels(spec.name, spec.kind),
      ...(Object.keys(spec.podAnnotations).length > 0 ? { annotations: { ...spec.podAnnotations } } : {}),
    },
    spec: {
      // QA pods hold no state worth a graceful shutdown; 0 makes environment updates and teardown fast (seed).
      terminationGracePeriodSeconds: 0,
      ...(context.imagePullSecret ? { imagePullSecrets: [{ name: context.imagePullSecret }] } : {}),
      ...(spec.waitForNsqImage ? { initContainers: [waitForNsqContainer(spec.waitForNsqImage)] } : {}),
      containers: [container],
    },
  };
}

export function deploymentObject(spec: ServiceSpec, context: WorkloadContext) {
  return {
    metadata: { name: spec.name, namespace: context.namespace, labels: serviceLabels(spec.name, spec.kind) },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selectorLabels(spec.name) },
      template: podTemplate(spec, context),
    },
  };
}

/** A service with storage: one pod, one claim, a stable network identity. */
export function statefulSetObject(spec: ServiceSpec, context: WorkloadContext) {
  if (!spec.storage) throw new Error(`service "${spec.name}" has no storage; it is a Deployment`);
  return {
    metadata: { name: spec.name, namespace: context.namespace, labels: serviceLabels(spec.name, spec.kind) },
    spec: {
      serviceName: spec.name,
      replicas: spec.replicas,
      selector: { matchLabels: selectorLabels(spec.name) },
      template: podTemplate(spec, context),
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: spec.storage.storageClass,
            resources: { requests: { storage: spec.storage.size } },
          },
        },
      ],
    },
  };
}

/** A Service's ports: `http` and the extra ones, each to the container port of its name. */
export function servicePorts(spec: ServiceSpec & { port: number }) {
  return [
    { name: "http", port: spec.port, targetPort: "http", protocol: "TCP" },
    ...spec.extraPorts.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
  ];
}

/** The Service of a catalog service, or undefined for a background worker without a port. */
export function serviceObject(spec: ServiceSpec, context: WorkloadContext) {
  if (spec.port === undefined) return undefined;
  return {
    metadata: {
      name: spec.name,
      namespace: context.namespace,
      labels: serviceLabels(spec.name, spec.kind),
      // The provider's Service await waits for the Endpoints object to list the pods and then 10 s more for it to
      // settle: the pods' readiness, which the Deployment's (StatefulSet's) own await already proves. On the test
      // cluster it would never end: pod addresses there are loopback ones (127.0.0.0/8), which the API server refuses
      // in Endpoints and EndpointSlices (ValidateEndpointIP), so no Endpoints object ever appears.
      annotations: { [SKIP_AWAIT]: "true" },
    },
    spec: {
      selector: selectorLabels(spec.name),
      ports: servicePorts({ ...spec, port: spec.port }),
    },
  };
}
