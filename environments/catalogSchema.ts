// Shape of environments/catalog.yaml. zod checks structure and types (unknown keys included); the rules that need the
// whole catalog (duplicates, requests vs limits, placeholders) live in catalog.ts.
import { z } from "zod";

const quantityPair = z.strictObject({
  cpu: z.string().optional(),
  memory: z.string().optional(),
});

export const resourcesSchema = z.strictObject({
  requests: quantityPair.optional(),
  limits: quantityPair.optional(),
});

const ingressRouteSchema = z.strictObject({
  /** Host template; placeholders `${feature}`, `${ticket}`, `${domain}`. Default: the main host. */
  host: z.string().optional(),
  path: z.string(),
  /** Strip `path` before forwarding (a Traefik stripPrefix Middleware). */
  stripPrefix: z.boolean().optional(),
});

const readinessProbeSchema = z.strictObject({
  /** HTTP GET path on the service port. */
  path: z.string().optional(),
  /** TCP connect to the service port instead of HTTP. */
  tcp: z.boolean().optional(),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
});

const namedPortSchema = z.strictObject({
  name: z.string(),
  port: z.number().int(),
});

export const serviceSchema = z.strictObject({
  name: z.string(),
  /** `app`: built by the company, image from the registry with feature/baseline tags. `infra`: third-party image. */
  kind: z.enum(["app", "infra"]),
  /** app: repository under the registry (`bu/auth`); infra: a full image reference (`mongo:7.0`, `${nsqImage}`). */
  image: z.string(),
  /** The main port (named "http"). A background worker has none: no Service, no Ingress, no probe. */
  port: z.number().int().optional(),
  extraPorts: z.array(namedPortSchema).optional(),
  replicas: z.number().int().min(0).optional(),
  resources: resourcesSchema.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  requiresNsq: z.boolean().optional(),
  ingress: z.array(ingressRouteSchema).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  readinessProbe: readinessProbeSchema.optional(),
  /** Persistent volume size; a service with storage runs as a StatefulSet with its own claim. */
  storage: z.string().optional(),
  /**
   * Catalog services an overlay environment deploys itself when this service is built on the branch (its own
   * database, its own NSQ). Default: the infra services it uses (environments/overlay.ts); [] = the baseline's.
   */
  overlayOwn: z.array(z.string()).optional(),
});

export const catalogSchema = z.strictObject({
  defaults: z
    .strictObject({
      replicas: z.number().int().min(0).optional(),
      resources: resourcesSchema.optional(),
    })
    .optional(),
  services: z.array(serviceSchema).min(1),
});

export type RawCatalog = z.infer<typeof catalogSchema>;
export type RawService = z.infer<typeof serviceSchema>;
