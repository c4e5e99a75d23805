// The fast layer's Pulumi runtime: mocks that record every registered resource, and helpers to read what was
// registered. The real engine is exercised by test/e2e.
import * as pulumi from "@pulumi/pulumi";

export interface RegisteredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

/** Marker the runtime wraps secret inputs in on their way to the monitor. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export function isSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270"
  );
}

/** Installs recording mocks for `stack`; outputs of a StackReference come from `stackOutputs`. */
export function installMocks(stack: string, stackOutputs: Record<string, unknown> = {}, project = "qa-k8s") {
  const resources: RegisteredResource[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
        if (args.type === "pulumi:pulumi:StackReference") {
          return { id: args.name, state: { name: args.inputs.name, outputs: stackOutputs, secretOutputNames: [] } };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    project,
    stack,
    false,
  );
  return resources;
}

/** Waits until every registration the program started has reached the mocks. */
export async function settle(): Promise<void> {
  // waitForRPCs is internal to @pulumi/pulumi but exported; it is exactly "the RPC queue has drained".
  const settings = await import("@pulumi/pulumi/runtime/settings");
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

/** Sets the whole config store (it is global per process); keys without a namespace get `qa-k8s:`. */
export function setConfig(values: Record<string, unknown>, secretKeys: string[] = []) {
  const qualify = (key: string) => (key.includes(":") ? key : `qa-k8s:${key}`);
  const config = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      qualify(key),
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
  pulumi.runtime.setAllConfig(config, secretKeys.map(qualify));
}

export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Deep copy of inputs with secret wrappers replaced by their values (for comparing objects). */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
