# shellcheck shell=bash
# Source this file (`. scripts/lib/pulumi-env.sh`) to run Pulumi the way the tests do: the pinned CLI and
# plugins that `scripts/toolchain` prepared, a local file backend, and no network access by Pulumi itself.
# It only exports variables (and creates the default state folder); it never builds anything.
#
# Variables already set by the caller win for the backend and the passphrase, so CI or a developer can point
# them elsewhere.

# shellcheck source=scripts/lib/toolchain/versions.sh
. "$(dirname "${BASH_SOURCE[0]}")/toolchain/versions.sh"

# The toolchain built its own CLI only when no new-enough `pulumi` was on PATH; then its bin folder goes first
# and its PULUMI_HOME holds the plugins it installed. Otherwise the user's own CLI and PULUMI_HOME are used.
if [ -x "${QA_TOOLCHAIN_ROOT}/bin/pulumi" ]; then
  case "${PATH}" in
    "${QA_TOOLCHAIN_ROOT}/bin:"*) ;;
    *) PATH="${QA_TOOLCHAIN_ROOT}/bin:${PATH}" ;;
  esac
  export PATH
  export PULUMI_HOME="${QA_TOOLCHAIN_ROOT}/home"
fi

# No update check, and no plugin downloads: the toolchain installs every plugin the project needs, so a missing
# one is a clear error instead of a download attempt (which fails offline, or silently fetches another build).
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# Stacks live in a local folder: no Pulumi Cloud account is needed.
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "${QA_STATE_DIR:-$HOME/.cache/qa-k8s/state}"
  export PULUMI_BACKEND_URL="file://${QA_STATE_DIR:-$HOME/.cache/qa-k8s/state}"
fi

# The file backend encrypts secrets with a passphrase. This default is NOT a secret: it only keeps local and
# test stacks working without a prompt. Set PULUMI_CONFIG_PASSPHRASE (or _FILE) yourself for stacks that hold
# real secrets.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE=qa-k8s-local
fi
