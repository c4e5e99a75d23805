// Small builders shared by the unit and e2e layers.
import type { CatalogService } from "../../environments/catalog";

/** A minimal app service of the catalog, `bu/<name>` on port 3000. */
export function appService(name: string, overrides: Partial<CatalogService> = {}): CatalogService {
  return {
    name,
    kind: "app",
    image: `bu/${name}`,
    port: 3000,
    extraPorts: [],
    replicas: 1,
    resources: { requests: { cpu: "5m", memory: "64Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
    env: {},
    requiresNsq: false,
    ingress: [],
    ...overrides,
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure, but it succeeded");
}
