# shellcheck shell=bash disable=SC2034 # variables are used by the other files
# Shared settings for scripts/local-cluster: pinned versions, paths, ports, and
# small output helpers. Sourced, never executed.

# --- Pinned versions -------------------------------------------------------
# Kubernetes 1.34 is what the QA clusters run; its go.mod pins the etcd 3.6
# client, so the etcd server comes from the same 3.6 line (newest patch).
LC_K8S_VERSION="1.34.4"
LC_ETCD_VERSION="3.6.16"
LC_KWOK_VERSION="0.8.0"

# --- Paths -----------------------------------------------------------------
# Binaries live outside the repo so `git clean` never throws away a 10-minute
# build, and so several work trees share one build.
LC_TOOLCHAIN_DIR="${QA_TOOLCHAIN_DIR:-${HOME}/.cache/qa-k8s}"
LC_PREFIX="${LC_TOOLCHAIN_DIR}/k8s-${LC_K8S_VERSION}"
LC_BIN="${LC_PREFIX}/bin"
LC_STAGES_DIR="${LC_PREFIX}/kwok-stages"
LC_SRC="${LC_PREFIX}/src"

# Runtime state (data, certs, logs, pids); `stop --purge` removes all of it.
LC_DIR="${QA_CLUSTER_DIR:-${HOME}/.cache/qa-k8s/local-cluster}"
LC_KUBECONFIG="${LC_DIR}/kubeconfig"

# --- Network ----------------------------------------------------------------
# Everything listens on loopback only. Ports are derived from one base so a
# second cluster (other QA_CLUSTER_DIR) only needs one variable changed.
LC_HOST="127.0.0.1"
LC_API_PORT="${QA_CLUSTER_PORT:-16443}"
if ! [[ "${LC_API_PORT}" =~ ^[0-9]+$ ]] || ((LC_API_PORT < 1 || LC_API_PORT > 65529)); then
  echo "[local-cluster] ERROR: QA_CLUSTER_PORT must be a port number below 65530 (the cluster uses it and the next five)" >&2
  exit 2
fi
lc_set_ports() {
  LC_ETCD_PORT="$((LC_API_PORT + 1))"
  LC_ETCD_PEER_PORT="$((LC_API_PORT + 2))"
  LC_KCM_PORT="$((LC_API_PORT + 3))"
  LC_SCHED_PORT="$((LC_API_PORT + 4))"
  # kwok's kubelet-like server (pod logs); every Node's kubeletEndpoint.
  LC_KWOK_PORT="$((LC_API_PORT + 5))"
}
lc_set_ports
# Pod and Service addresses are loopback too, so test stand-ins for the pod network (test/e2e/support/podNetwork.ts)
# can bind them on this machine and nothing ever leaves it: kwok's default pod range (10.0.0.0/24) and the usual
# 10.244.0.0/16 / 10.96.0.0/16 are real networks elsewhere. 127.96.0.1, the first service IP, is the `kubernetes`
# Service. A cluster dir records the ranges it was made with (LC_NET_STAMP) and is refused if they differ.
LC_POD_CIDR="127.64.0.0/16"
LC_SERVICE_CIDR="127.96.0.0/16"
LC_KUBERNETES_SERVICE_IP="127.96.0.1"
LC_NET_STAMP="${LC_DIR}/network"

# --- Cluster shape -----------------------------------------------------------
LC_WORKERS="${QA_CLUSTER_WORKERS:-5}"
LC_PV_COUNT="${QA_CLUSTER_PVS:-40}"
LC_PV_SIZE="${QA_CLUSTER_PV_SIZE:-10Gi}"
# Size of every kwok node (allocatable = capacity), like the QA VMs by default. A test of the capacity guard starts a
# small cluster in its own QA_CLUSTER_DIR; a cluster dir whose nodes have another size is refused at start (nodes are
# only created when missing, so a changed size would otherwise be silently ignored).
LC_NODE_CPU="${QA_CLUSTER_NODE_CPU:-4}"
LC_NODE_MEMORY="${QA_CLUSTER_NODE_MEMORY:-8178Mi}"
LC_NODE_PODS="${QA_CLUSTER_NODE_PODS:-110}"
# They are written into YAML: plain Kubernetes quantities only (no quotes, spaces or newlines get through).
if ! [[ "${LC_NODE_CPU}" =~ ^[0-9]+(\.[0-9]+)?m?$ ]]; then
  echo "[local-cluster] ERROR: QA_CLUSTER_NODE_CPU \"${LC_NODE_CPU}\" is not a CPU quantity; e.g. 4, 1.5 or 500m" >&2
  exit 2
fi
if ! [[ "${LC_NODE_MEMORY}" =~ ^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$ ]]; then
  echo "[local-cluster] ERROR: QA_CLUSTER_NODE_MEMORY \"${LC_NODE_MEMORY}\" is not a memory quantity; e.g. 8178Mi or 2Gi" >&2
  exit 2
fi
if ! [[ "${LC_NODE_PODS}" =~ ^[1-9][0-9]{0,3}$ ]]; then
  echo "[local-cluster] ERROR: QA_CLUSTER_NODE_PODS \"${LC_NODE_PODS}\" is not a pod count 1-9999; e.g. 110" >&2
  exit 2
fi

# Built from k8s.io/kubernetes. kubectl too: the distributions' kubectl is
# either missing or too old (Debian 12 ships 1.20), and a matching client
# avoids version-skew warnings.
LC_K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

# Order matters: start in this order, stop in reverse.
LC_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

LC_T0="${SECONDS}"

lc_log() {
  printf '[local-cluster %4ss] %s\n' "$((SECONDS - LC_T0))" "$*" >&2
}

# Extra advice printed with any error, set once a command reaches a point
# where failing leaves something behind.
LC_DIE_HINT=""

lc_die() {
  printf '[local-cluster] ERROR: %s\n' "$*" >&2
  [[ -z "${LC_DIE_HINT}" ]] || printf '[local-cluster] %s\n' "${LC_DIE_HINT}" >&2
  exit 1
}

# Serialise commands that change state: test runners may call `start` from
# several workers at once, and two builds would overwrite each other's
# wrapper modules. flock releases the lock when the script exits.
lc_lock() {
  local file="$1"
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "${file}")"
  exec 9>"${file}"
  if ! flock -n 9; then
    lc_log "waiting for another local-cluster command (lock ${file})"
    flock 9
  fi
}
