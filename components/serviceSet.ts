// One feature environment's workloads: for every resolved service a Deployment (or StatefulSet), a Service and its
// ingress routes, plus the namespace-wide parts. Pure builders in ./specs make every object; this only wires them.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ingressObjects, stripPrefixMiddlewareObject } from "./specs/ingress";
import { limitRangeObject, namespaceObject, networkPolicyObject, resourceQuotaObject } from "./specs/namespace";
import { externalNameServiceObject } from "./specs/externalName";
import { dockerConfigJson, PULL_SECRET_NAME, registryServer } from "./specs/pullSecret";
import { deploymentObject, serviceObject, statefulSetObject } from "./specs/workload";
import type { ServiceSpec } from "./types";

export interface RegistryCredentials {
  /** Registry address as configured; the host part keys the pull secret. */
  readonly address: string;
  readonly username: string;
  readonly password: pulumi.Input<string>;
}

export interface ServiceSetArgs {
  /** Namespace created for the environment (a DNS-1123 label). */
  readonly namespace: string;
  /** Labels of the namespace (feature, ticket). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Resolved services, in catalog order. */
  readonly services: readonly ServiceSpec[];
  /** TLS secret named by every Ingress. */
  readonly tlsSecretName: string;
  /**
   * Credentials for pulling images; stored as a dockerconfigjson Secret referenced by every pod.
   * @default no pull secret: the registry allows anonymous pulls
   */
  readonly registryCredentials?: RegistryCredentials;
  /**
   * Services this namespace does not run: each gets a Service of its name of type ExternalName into `namespace`, and
   * its ingress routes as usual, so its in-cluster name and its paths reach that namespace (overlay mode).
   * @default none: every service runs here
   */
  readonly resolvedElsewhere?: { readonly namespace: string; readonly services: readonly ServiceSpec[] };
  /**
   * Pods of namespaces with these labels may reach this environment's pods (a baseline admits its overlays).
   * @default none beyond the ingress namespaces
   */
  readonly admittedNamespaceLabels?: Readonly<Record<string, string>>;
  /**
   * Namespaces whose pods may reach this environment's pods besides its own (the ingress controller's).
   * @default ["kube-system"], where K3s runs Traefik
   */
  readonly ingressNamespaces?: readonly string[];
  /**
   * Leave the objects inside the namespace to the namespace's own deletion on destroy (Pulumi's `deletedWith`): the
   * namespace controller removes them all at once, where the provider would delete and await each of ~230 objects.
   * Off for rendered files, which have no namespace controller to remove them.
   * @default true
   */
  readonly deleteWithNamespace?: boolean;
}

export class ServiceSet extends pulumi.ComponentResource {
  /** The environment's namespace. */
  readonly namespace: pulumi.Output<string>;
  /** Image reference deployed per service name. */
  readonly images: pulumi.Output<Record<string, string>>;
  /** `https://host/path` of every ingress route, per service name. */
  readonly urls: pulumi.Output<Record<string, string[]>>;

  constructor(name: string, args: ServiceSetArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("qa-k8s:components:ServiceSet", name, {}, opts);
    const ns = args.namespace;
    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      namespaceObject({ namespace: ns, labels: args.namespaceLabels }),
      {
        parent: this,
      },
    );
    const deletedWith = args.deleteWithNamespace === false ? undefined : namespace;
    const inNamespace = { parent: this, dependsOn: [namespace], deletedWith };

    const quota = new k8s.core.v1.ResourceQuota(`${name}-quota`, resourceQuotaObject(ns, args.services), inNamespace);
    const limits = new k8s.core.v1.LimitRange(`${name}-limits`, limitRangeObject(ns, args.services), inNamespace);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-network-policy`,
      networkPolicyObject(ns, args.ingressNamespaces ?? ["kube-system"], args.admittedNamespaceLabels),
      inNamespace,
    );

    const pullSecret = args.registryCredentials && this.pullSecret(name, ns, args.registryCredentials, inNamespace);
    const context = { namespace: ns, imagePullSecret: pullSecret ? PULL_SECRET_NAME : undefined };
    // After the quota and limits: an overlay switched to full grows its quota before its new pods ask for room.
    const workloadOpts = {
      ...inNamespace,
      dependsOn: [namespace, quota, limits, ...(pullSecret ? [pullSecret] : [])],
    };

    for (const spec of args.services) {
      const prefix = `${name}-${spec.name}`;
      if (spec.storage) {
        new k8s.apps.v1.StatefulSet(`${prefix}-statefulset`, statefulSetObject(spec, context), workloadOpts);
      } else {
        new k8s.apps.v1.Deployment(`${prefix}-deployment`, deploymentObject(spec, context), workloadOpts);
      }
      // A background worker (no port) gets no Service, and the catalog gives it no routes.
      const serviceArgs = serviceObject(spec, context);
      if (!serviceArgs) continue;
      new k8s.core.v1.Service(`${prefix}-service`, serviceArgs, inNamespace);
      this.routes(prefix, spec, ns, args.tlsSecretName, inNamespace, namespace);
    }
    const elsewhere = args.resolvedElsewhere;
    for (const spec of elsewhere?.services ?? []) {
      const prefix = `${name}-${spec.name}`;
      const serviceArgs = externalNameServiceObject(spec, { namespace: ns, targetNamespace: elsewhere!.namespace });
      if (!serviceArgs) continue;
      // The same resource name as the selector Service above: a service switching sides is updated, not replaced.
      new k8s.core.v1.Service(`${prefix}-service`, serviceArgs, inNamespace);
      this.routes(prefix, spec, ns, args.tlsSecretName, inNamespace, namespace);
    }

    this.namespace = namespace.metadata.name;
    this.images = pulumi.output(Object.fromEntries(args.services.map((s) => [s.name, s.image])));
    this.urls = pulumi.output(
      Object.fromEntries(
        [...args.services, ...(elsewhere?.services ?? [])]
          .filter((s) => s.routes.length > 0)
          .map((s) => [s.name, s.routes.map((r) => `https://${r.host}${r.path}`)]),
      ),
    );
    this.registerOutputs({ namespace: this.namespace, images: this.images, urls: this.urls });
  }

  /** A service's Ingress objects and stripPrefix Middleware: the same whether the service runs here or elsewhere. */
  private routes(
    prefix: string,
    spec: ServiceSpec,
    ns: string,
    tlsSecretName: string,
    opts: pulumi.CustomResourceOptions,
    namespace: k8s.core.v1.Namespace,
  ) {
    const middlewareObject = stripPrefixMiddlewareObject(spec, ns);
    const middleware =
      middlewareObject && new k8s.apiextensions.CustomResource(`${prefix}-strip-prefix`, middlewareObject, opts);
    for (const { role, object } of ingressObjects(spec, ns, tlsSecretName)) {
      // Not after the Service: its await (endpoints ready) would hold every route back until the pods are up, and
      // Traefik serves a route as soon as its backend Service appears.
      new k8s.networking.v1.Ingress(`${prefix}-${role}`, object, {
        ...opts,
        dependsOn: middleware ? [namespace, middleware] : [namespace],
      });
    }
  }

  private pullSecret(name: string, ns: string, credentials: RegistryCredentials, opts: pulumi.CustomResourceOptions) {
    const server = registryServer(credentials.address);
    const config = pulumi
      .output(credentials.password)
      .apply((password) => dockerConfigJson(server, credentials.username, password));
    return new k8s.core.v1.Secret(
      `${name}-pull-secret`,
      {
        metadata: { name: PULL_SECRET_NAME, namespace: ns },
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": pulumi.secret(config) },
      },
      opts,
    );
  }
}
