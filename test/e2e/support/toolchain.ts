// The e2e suites get the real engine the same way the README commands do.
export { pulumiEnv, parseEnvLines, repoRoot } from "../../../scripts/lib/toolchain";
