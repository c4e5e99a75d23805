// Opening a stack of this project through the Automation API, with its config, the same way for CI, `npm start` and the
// end-to-end tests. The engine's environment (offline toolchain, backend, passphrase) comes from the caller.
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import * as path from "node:path";

export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface ConfigEntry {
  readonly value: string;
  readonly secret?: boolean;
}

export interface OpenStackOptions {
  readonly stackName: string;
  /** Environment of every engine run (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, PATH, ...). */
  readonly envVars: Record<string, string>;
  /** Config of the stack, without the `qa-k8s:` namespace; replaces what the stack had. */
  readonly config?: Record<string, ConfigEntry>;
  /** @default the project directory */
  readonly workDir?: string;
  /** The CLI, when the caller already has it: PulumiCommand.get runs `pulumi version` each time. @default pulumiCommand(envVars) */
  readonly pulumiCommand?: PulumiCommand;
}

export async function openStack(options: OpenStackOptions): Promise<Stack> {
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: options.stackName, workDir: options.workDir ?? PROJECT_DIR },
    { envVars: options.envVars, pulumiCommand: options.pulumiCommand ?? (await pulumiCommand(options.envVars)) },
  );
  if (options.config) {
    const entries = Object.fromEntries(
      Object.entries(options.config).map(([key, entry]) => [
        `qa-k8s:${key}`,
        { value: entry.value, secret: entry.secret ?? false },
      ]),
    );
    await stack.setAllConfig(entries);
  }
  return stack;
}

/**
 * The CLI to drive: QA_PULUMI_BIN (set by scripts/toolchain, `<root>/bin/pulumi`) when given, else `pulumi` on the
 * PATH. The Automation API looks the CLI up on this process's PATH, not on the PATH handed to the engine.
 */
export async function pulumiCommand(envVars: Record<string, string>): Promise<PulumiCommand | undefined> {
  const binary = envVars.QA_PULUMI_BIN;
  if (!binary) return undefined;
  return PulumiCommand.get({ root: path.dirname(path.dirname(binary)) });
}

/** Destroys the stack's resources and removes the stack with its Pulumi.<stack>.yaml. */
export async function destroyStack(stack: Stack, onOutput?: (out: string) => void): Promise<void> {
  await stack.destroy({ onOutput });
  await stack.workspace.removeStack(stack.name);
}
