# shellcheck shell=bash disable=SC2034 # variables are used by the files that source this one
# The pinned Pulumi toolchain, shared by scripts/toolchain and scripts/lib/pulumi-env.sh.
# Each pin must match what package.json installs: the npm SDKs ask the engine for exactly these plugin versions.

# Pulumi CLI = npm @pulumi/pulumi. `pulumi version` must print v$QA_PULUMI_VERSION (the Automation API parses it).
QA_PULUMI_VERSION=3.248.0

# Kubernetes provider = npm @pulumi/kubernetes. The Go module proxy serves its provider module only at this one
# pseudo-version (commit f47bc2d6, 2026-01-15, the v4 line before 4.34.2); it is built from there and installed
# under the version the SDK asks for. Replace both pins together once the proxy serves a newer commit.
QA_K8S_PROVIDER_VERSION=4.34.2
QA_K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
# The provider's go.mod points pulumi-kubernetes/sdk/v4 at its own checkout (`replace => ../sdk`), which is not
# in the module zip. v4.22.2 is the newest served sdk/v4 that does not raise pulumi/sdk above the provider's own
# pin (v3.215.0); the provider only uses its generated Go types.
QA_K8S_SDK_MODULE_VERSION=v4.22.2

# Command provider = npm @pulumi/command. Built from scripts/lib/toolchain/commandprovider (see its main.go for why).
QA_COMMAND_PROVIDER_VERSION=1.2.1

# Toolchain cache, outside the repository: binaries are never committed.
QA_TOOLCHAIN_ROOT="${QA_TOOLCHAIN_DIR:-$HOME/.cache/qa-k8s}/pulumi-v${QA_PULUMI_VERSION}"
