// The resolved description of an environment that the ServiceSet turns into Kubernetes resources. Everything here is
// final: placeholders expanded, images chosen, hosts known. Components never read config or files.

export interface ContainerResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

export interface NamedPort {
  readonly name: string;
  readonly port: number;
}

export interface ReadinessProbe {
  /** HTTP GET path on the `http` port. */
  readonly path?: string;
  /** TCP connect to the `http` port instead. */
  readonly tcp?: boolean;
  readonly initialDelaySeconds?: number;
  readonly periodSeconds?: number;
}

export interface ServiceRoute {
  readonly host: string;
  readonly path: string;
  /** Remove `path` before the request reaches the service. */
  readonly stripPrefix: boolean;
}

export interface ServiceSpec {
  /** Catalog name: the Kubernetes name of the Deployment/StatefulSet and Service, and the in-cluster DNS name. */
  readonly name: string;
  readonly kind: "app" | "infra";
  /** Image reference exactly as the pod runs it. */
  readonly image: string;
  /** The main port, named "http"; absent for a background worker, which gets no Service, Ingress or probe. */
  readonly port?: number;
  readonly extraPorts: readonly NamedPort[];
  readonly replicas: number;
  readonly resources: ContainerResources;
  /** Final container environment, in a stable order. */
  readonly env: Readonly<Record<string, string>>;
  /** Image of an init container that waits for nsqd:4151; absent when the service does not need NSQ. */
  readonly waitForNsqImage?: string;
  readonly routes: readonly ServiceRoute[];
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly readinessProbe?: ReadinessProbe;
  /** A persistent volume: the service runs as a StatefulSet with one claim of this size. */
  readonly storage?: { readonly size: string; readonly storageClass: string };
  /** Pod-template annotations; a changed value rolls the pods (restart rollout mode). */
  readonly podAnnotations: Readonly<Record<string, string>>;
}
