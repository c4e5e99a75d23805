// Runs the cluster program under Pulumi mocks and records what it registers: inputs as the engine would receive them
// (secrets still wrapped), plus the resource options the mocks API does not show (dependencies, ignoreChanges, ...),
// read from the registration requests.
import * as pulumi from "@pulumi/pulumi";
import { isSecret, settle, unwrapSecrets } from "../support/mocks";
import { asRaw, SECRET_KEYS } from "./fixtures";

export { isSecret };
/** Unwraps secrets, for assertions on values. */
export const reveal = unwrapSecrets;

export interface Registration {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, unknown>;
  dependencies: string[];
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  replaceOnChanges: string[];
  aliasNames: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean;
  provider: string;
}

export interface ProgramRun {
  /** By resource name. */
  regs: Map<string, Registration>;
  outputs: Record<string, unknown>;
  /** Errors the program raised asynchronously (inside Output callbacks). */
  errors: unknown[];
  /** Pulumi promises still pending once registrations settled (0 for a program that completes). */
  leaks: number;
}

export interface RunOptions {
  secretKeys?: string[];
  /** stdout returned by the mock for a command resource (e.g. the kubeconfig reader). */
  stdoutFor?: (name: string, inputs: Record<string, unknown>) => string | undefined;
}

/** What Rancher would return for the imported cluster; the URL embeds the registration token. */
export const RANCHER_MANIFEST_URL = "https://rancher.example.test/v3/import/regtoken-secret-456_c-abc12.yaml";

export const FAKE_KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EK
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
users:
- name: default
  user:
    client-certificate-data: Q0VSVAo=
    client-key-data: S0VZCg==
`;

/** Every string reachable in a value WITHOUT passing through a secret, with its path. */
export function plainStrings(value: unknown, path = ""): [string, string][] {
  if (isSecret(value)) return [];
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => plainStrings(v, path ? `${path}.${k}` : k));
  }
  return [];
}

/** Output values resolve only if known; secrets are unwrapped. */
export function valueOf<T>(output: pulumi.Output<T> | T): Promise<T> {
  if (!pulumi.Output.isInstance(output)) return Promise.resolve(output as T);
  return new Promise((resolve) => (output as pulumi.Output<T>).apply((v) => resolve(v)));
}

/** A run that the program refused synchronously: its error, and what had been registered by then. */
export interface RefusedRun {
  error: Error;
  regs: Map<string, Registration>;
}

export async function runProgram(config: Record<string, unknown>, options: RunOptions = {}): Promise<ProgramRun> {
  const { run, refusal } = await execute(config, options);
  if (refusal) throw refusal.error;
  return run!;
}

/** Runs a program that must refuse its config; fails the test when it does not. */
export async function refusedRun(config: Record<string, unknown>, options: RunOptions = {}): Promise<RefusedRun> {
  const { refusal } = await execute(config, options);
  if (!refusal) throw new Error("the program accepted a config it should have refused");
  return refusal;
}

async function execute(
  config: Record<string, unknown>,
  options: RunOptions,
): Promise<{ run?: ProgramRun; refusal?: RefusedRun }> {
  const secretKeys = options.secretKeys ?? SECRET_KEYS;
  const raw = asRaw(config);
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(raw).map(([k, v]) => [`qa-k8s:${k}`, v])),
    secretKeys.filter((k) => k in raw).map((k) => `qa-k8s:${k}`),
  );
  const regs = new Map<string, Registration>();
  const inputsByName = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        inputsByName.set(args.name, args.inputs);
        const stdout =
          options.stdoutFor?.(args.name, args.inputs) ?? (args.name.endsWith("-kubeconfig") ? FAKE_KUBECONFIG : "");
        if (args.type === "rancher2:index/cluster:Cluster") {
          const clusterRegistrationToken = {
            manifestUrl: RANCHER_MANIFEST_URL,
            token: "regtoken-secret-456",
            command: "kubectl apply -f ...",
          };
          return { id: "c-abc12", state: { ...args.inputs, clusterRegistrationToken } };
        }
        const state = args.type.startsWith("command:") ? { ...args.inputs, stdout, stderr: "" } : args.inputs;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "qa-k8s",
    "qa",
    false,
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const monitor = require("@pulumi/pulumi/runtime/settings").getMonitor();
  const register = monitor.registerResource.bind(monitor);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResource = (req: any, callback: (err: unknown, res: any) => void) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    register(req, (err: unknown, res: any) => {
      if (!err && res) {
        const name: string = req.getName();
        regs.set(name, {
          type: req.getType(),
          name,
          urn: res.getUrn(),
          inputs: inputsByName.get(name) ?? {},
          dependencies: req.getDependenciesList(),
          ignoreChanges: req.getIgnorechangesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          replaceOnChanges: req.getReplaceonchangesList(),
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          aliasNames: req.getAliasesList().map((a: any) => a.getSpec()?.getName() ?? ""),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          retainOnDelete: req.getRetainondelete(),
          provider: req.getProvider(),
        });
      }
      callback(err, res);
    });

  const errors: unknown[] = [];
  // The engine ends a program at its first unhandled error; the RPC queue of a failed program never drains (the
  // registration waiting on the rejected Output stays open), so the run ends there too.
  let failed: () => void = () => {};
  const failure = new Promise<void>((resolve) => (failed = resolve));
  const onRejection = (reason: unknown) => {
    errors.push(reason);
    setImmediate(failed);
  };
  const settled = () => Promise.race([settle(), failure]);
  const mochaListeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", onRejection);
  try {
    // Through the root entry, as the engine runs it: it flattens `--path` config objects before the wing reads them.
    const { default: program } = await import("../../../index");
    let outputs: Record<string, unknown>;
    try {
      outputs = (await program()) as unknown as Record<string, unknown>;
    } catch (error) {
      // Wait all the same: a registration already sent must show up in regs for the test to see it.
      await settled();
      takeLeakedPromises();
      return { refusal: { error: error as Error, regs } };
    }
    // The runtime's own "every RPC has completed", re-checked until no new one started: unlike a quiet period, it
    // cannot end while a slow machine is still registering.
    await settled();
    return { run: { regs, outputs, errors, leaks: takeLeakedPromises() } };
  } finally {
    process.removeListener("unhandledRejection", onRejection);
    for (const l of mochaListeners) process.on("unhandledRejection", l);
  }
}

/** Pulumi promises still pending, taken (and reset) so one run's leftovers are neither blamed on the next nor
 * reported at process exit. */
function takeLeakedPromises(): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const [leaked] = require("@pulumi/pulumi/runtime/debuggable").leakedPromises();
  return leaked.size;
}

/** Registrations of one resource type, e.g. "command:remote:Command". */
export function ofType(run: ProgramRun, type: string): Registration[] {
  return [...run.regs.values()].filter((r) => r.type === type);
}

export function reg(run: ProgramRun, name: string): Registration {
  const r = run.regs.get(name);
  if (!r) throw new Error(`no resource named ${name}; registered: ${[...run.regs.keys()].join(", ")}`);
  return r;
}
