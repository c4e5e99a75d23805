import type { ServiceSpec } from "../../../components/types";

export function spec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: "auth",
    kind: "app",
    image: "reg.test/bu/auth:master_latest@sha256:" + "1".repeat(64),
    port: 3000,
    extraPorts: [],
    replicas: 1,
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
    env: { FEATURE: "verbu-6202" },
    routes: [],
    podAnnotations: {},
    ...overrides,
  };
}
