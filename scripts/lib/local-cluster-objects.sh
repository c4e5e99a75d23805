# shellcheck shell=bash
# Cluster objects that a real QA cluster has and this one must fake: kwok
# nodes shaped like the K3s nodes (1 server + N workers), and a `local-path`
# StorageClass backed by a pool of pre-created hostPath PersistentVolumes
# (no provisioner runs here, so the PV controller binds claims from the pool).

lc_node_names() {
  local i
  printf 'qa-server-1\n'
  for ((i = 1; i <= LC_WORKERS; i++)); do
    printf 'qa-worker-%s\n' "${i}"
  done
}

# A Node with capacity like the QA VMs (4 CPU / ~8 GB / 110 pods by default,
# QA_CLUSTER_NODE_CPU/_MEMORY/_PODS otherwise). Status is
# kept on create, so capacity/nodeInfo set here survive; kwok's
# node-initialize stage then fills in conditions and keeps them Ready.
lc_node_yaml() {
  local name="$1" role="$2" extra_labels=""
  if [[ "${role}" == server ]]; then
    extra_labels='    node-role.kubernetes.io/control-plane: "true"
    node-role.kubernetes.io/master: "true"'
  fi
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
    qa-k8s.local/size: "${LC_NODE_CPU} ${LC_NODE_MEMORY} ${LC_NODE_PODS}"
  labels:
    agent-type: ${role}
    kubernetes.io/hostname: ${name}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    beta.kubernetes.io/arch: amd64
    type: kwok
${extra_labels}
spec: {}
status:
  capacity:
    cpu: "${LC_NODE_CPU}"
    memory: ${LC_NODE_MEMORY}
    pods: "${LC_NODE_PODS}"
    ephemeral-storage: 100Gi
  allocatable:
    cpu: "${LC_NODE_CPU}"
    memory: ${LC_NODE_MEMORY}
    pods: "${LC_NODE_PODS}"
    ephemeral-storage: 100Gi
  daemonEndpoints:
    kubeletEndpoint:
      Port: ${LC_KWOK_PORT}
  addresses:
  - type: InternalIP
    address: ${LC_HOST}
  - type: Hostname
    address: ${name}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    osImage: kwok simulated node
    kubeletVersion: v${LC_K8S_VERSION}
    kubeProxyVersion: v${LC_K8S_VERSION}
    containerRuntimeVersion: kwok-v${LC_KWOK_VERSION}
    kernelVersion: kwok-v${LC_KWOK_VERSION}
EOF
}

lc_apply_nodes() {
  local name want=() have
  while IFS= read -r name; do want+=("${name}"); done < <(lc_node_names)
  {
    lc_node_yaml qa-server-1 server
    for name in "${want[@]:1}"; do lc_node_yaml "${name}" worker; done
  } >"${LC_CONF}/nodes.yaml"
  # Only create missing nodes: re-applying existing ones would not change
  # their status anyway, and create keeps the status we set.
  local missing=()
  for name in "${want[@]}"; do
    lc_kubectl get node "${name}" >/dev/null 2>&1 || missing+=("${name}")
  done
  lc_check_node_sizes
  if [[ "${#missing[@]}" -gt 0 ]]; then
    # AlreadyExists for the nodes that are there is expected; other errors fail.
    local out
    if ! out="$(lc_kubectl create -f "${LC_CONF}/nodes.yaml" 2>&1 >/dev/null)"; then
      out="$(grep -v 'AlreadyExists' <<<"${out}" || true)"
      [[ -z "${out}" ]] || lc_die "creating nodes failed: ${out}"
    fi
  fi
  # Nodes made before kwok served logs have no kubelet port: give them one.
  for name in "${want[@]}"; do
    if [[ "$(lc_kubectl get node "${name}" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')" != "${LC_KWOK_PORT}" ]]; then
      lc_kubectl patch node "${name}" --subresource=status --type=merge \
        -p "{\"status\":{\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":${LC_KWOK_PORT}}}}}" >/dev/null
    fi
  done
  # Shrinking QA_CLUSTER_WORKERS between starts removes the extra workers.
  while IFS= read -r have; do
    [[ -z "${have}" ]] && continue
    # No `printf | grep -q` here: grep exiting early can SIGPIPE printf, and
    # with pipefail that reads as "not wanted" and deletes a wanted node.
    if [[ " ${want[*]} " != *" ${have} "* ]]; then
      lc_log "removing node ${have} (QA_CLUSTER_WORKERS=${LC_WORKERS})"
      lc_kubectl delete node "${have}" --wait=false >/dev/null
    fi
  done < <(lc_kubectl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
  lc_log "nodes: 1 server + ${LC_WORKERS} workers (${#missing[@]} created)"
}

# Existing nodes keep the size they were created with: a cluster dir started
# before with another QA_CLUSTER_NODE_* would run at the old size unnoticed.
# The size asked for is kept in an annotation (the API server rewrites the
# quantities themselves: 1.5 -> 1500m); nodes made before it have the defaults.
# Prints "<node>: <size it was made with>" for the first node of another size.
lc_node_size_mismatch() {
  local want="${LC_NODE_CPU} ${LC_NODE_MEMORY} ${LC_NODE_PODS}" line name size
  while IFS= read -r line; do
    [[ -z "${line}" ]] && continue
    name="${line%%=*}"
    size="${line#*=}"
    [[ -n "${size}" ]] || size="4 8178Mi 110"
    if [[ "${size}" != "${want}" ]]; then
      printf '%s: %s\n' "${name}" "${size}"
      return 0
    fi
  done < <(lc_kubectl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}{"="}{.metadata.annotations.qa-k8s\.local/size}{"\n"}{end}')
}

lc_check_node_sizes() {
  local mismatch
  mismatch="$(lc_node_size_mismatch)"
  [[ -z "${mismatch}" ]] || lc_die "node ${mismatch%%:*} was made with cpu/memory/pods ${mismatch#*: }, but QA_CLUSTER_NODE_CPU/_MEMORY/_PODS ask for ${LC_NODE_CPU} ${LC_NODE_MEMORY} ${LC_NODE_PODS}; use another QA_CLUSTER_DIR or remove this one: bash scripts/local-cluster stop --purge"
}

# Pod and Service ranges are fixed when a cluster is first made: etcd keeps
# every ClusterIP (the `kubernetes` Service's first of all) and kwok never
# re-addresses a running pod, and the serving cert names the first service IP.
# A dir made with other ranges (before the move to loopback, 10.244/10.96)
# would come back half old, half new, so it is refused before anything starts,
# running or not. Refused rather than recreated: the default dir is the one
# `npm start` deploys environments into, and wiping it unasked would lose them.
lc_network_want() { printf 'pods=%s services=%s\n' "${LC_POD_CIDR}" "${LC_SERVICE_CIDR}"; }

lc_check_network() {
  # No etcd data yet: a new cluster, whose ranges lc_record_network writes.
  [[ -d "${LC_DIR}/data/etcd" ]] || return 0
  local want have
  want="$(lc_network_want)"
  have="$(cat "${LC_NET_STAMP}" 2>/dev/null || printf 'pods=10.244.0.0/16 services=10.96.0.0/16 (no %s: made before the ranges were recorded)' "${LC_NET_STAMP}")"
  [[ "${have}" == "${want}" ]] || lc_die "cluster dir ${LC_DIR} was made with ${have}, but this script uses ${want} (loopback, so pod and service addresses are reachable here); remove it: QA_CLUSTER_DIR=${LC_DIR} bash scripts/local-cluster stop --purge, or use another QA_CLUSTER_DIR"
}

lc_record_network() {
  [[ -d "${LC_DIR}/data/etcd" ]] || lc_network_want >"${LC_NET_STAMP}"
}

lc_apply_storage() {
  mkdir -p "${LC_DIR}/volumes"
  # WaitForFirstConsumer like the real local-path provisioner: the scheduler
  # picks the node and binds the claim to a pool volume at the same time.
  if ! lc_kubectl get storageclass local-path >/dev/null 2>&1; then
    lc_kubectl create -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
EOF
  fi
  # Only the missing pool volumes are created, so a restart stays quick.
  # Recycle: once a claim is deleted (environment torn down) the PV controller
  # runs a recycler pod (completed by our kwok stage) and the volume returns
  # to the pool instead of staying Released forever.
  local have i name created=0
  have="$(lc_kubectl get pv -l qa-k8s.local/pool=local-path -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')"
  : >"${LC_CONF}/storage.yaml"
  for ((i = 1; i <= LC_PV_COUNT; i++)); do
    name="$(printf 'qa-local-pv-%03d' "${i}")"
    grep -qxF "${name}" <<<"${have}" && continue
    mkdir -p "${LC_DIR}/volumes/${name}"
    created=$((created + 1))
    cat >>"${LC_CONF}/storage.yaml" <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${name}
  labels:
    qa-k8s.local/pool: local-path
spec:
  capacity:
    storage: ${LC_PV_SIZE}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Recycle
  storageClassName: local-path
  volumeMode: Filesystem
  hostPath:
    path: ${LC_DIR}/volumes/${name}
    type: DirectoryOrCreate
EOF
  done
  if [[ "${created}" -gt 0 ]]; then
    local out
    out="$(lc_kubectl create -f "${LC_CONF}/storage.yaml" 2>&1 >/dev/null)" || lc_die "creating PersistentVolumes failed: ${out}"
    # The deprecation warning for Recycle is known and deliberate (see above).
    out="$(grep -v 'Recycle reclaim policy is deprecated' <<<"${out}" || true)"
    [[ -z "${out}" ]] || printf '%s\n' "${out}" >&2
  fi
  lc_log "storage: StorageClass local-path (default), ${LC_PV_COUNT} x ${LC_PV_SIZE} PersistentVolumes (${created} created)"
}

lc_nodes_ready() {
  local want total ready
  want="$((LC_WORKERS + 1))"
  total="$(lc_kubectl get nodes -l type=kwok --no-headers 2>/dev/null | wc -l)"
  ready="$(lc_kubectl get nodes -l type=kwok --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)"
  # A running cluster of another node size is not "ready": start then reaches
  # lc_apply_nodes, which refuses it with the sizes.
  [[ "${total}" -eq "${want}" && "${ready}" -eq "${want}" && -z "$(lc_node_size_mismatch)" ]]
}
