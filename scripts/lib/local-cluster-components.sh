# shellcheck shell=bash
# Command lines of the control-plane components and their health checks (sourced by scripts/local-cluster after
# local-cluster-run.sh, whose paths and ports it uses).

# --- health checks ---------------------------------------------------------

lc_etcd_healthy() {
  local body
  body="$(curl -fsS --max-time 2 "http://${LC_HOST}:${LC_ETCD_PORT}/health" 2>/dev/null)" || return 1
  [[ "${body}" == *'"health":"true"'* ]]
}

lc_api_ready() {
  [[ "$(curl -fsS --max-time 3 --cacert "${LC_CERTS}/ca.crt" --cert "${LC_CERTS}/admin.crt" \
    --key "${LC_CERTS}/admin.key" "https://${LC_HOST}:${LC_API_PORT}/readyz" 2>/dev/null)" == "ok" ]]
}

# The controller-manager and scheduler serve /healthz with self-signed certs
# from their --cert-dir; /healthz is always allowed without credentials.
lc_secure_healthz() {
  [[ "$(curl -ksS --max-time 2 "https://${LC_HOST}:$1/healthz" 2>/dev/null)" == "ok" ]]
}

lc_kcm_healthy() { lc_secure_healthz "${LC_KCM_PORT}"; }
lc_sched_healthy() { lc_secure_healthz "${LC_SCHED_PORT}"; }

# --- component command lines ----------------------------------------------

# Each start function re-checks its ports: something may have taken one
# while the earlier components were starting.
lc_start_etcd() {
  lc_check_port "${LC_ETCD_PORT}" "etcd (client)"
  lc_check_port "${LC_ETCD_PEER_PORT}" "etcd (peer)"
  # Plain HTTP is fine on loopback. --unsafe-no-fsync: a QA cluster's data is
  # disposable and fsync latency makes every API write slow on shared disks.
  lc_launch etcd "$(lc_bin_for etcd)" \
    --name qa-local \
    --data-dir "${LC_DIR}/data/etcd" \
    --listen-client-urls "http://${LC_HOST}:${LC_ETCD_PORT}" \
    --advertise-client-urls "http://${LC_HOST}:${LC_ETCD_PORT}" \
    --listen-peer-urls "http://${LC_HOST}:${LC_ETCD_PEER_PORT}" \
    --initial-advertise-peer-urls "http://${LC_HOST}:${LC_ETCD_PEER_PORT}" \
    --initial-cluster "qa-local=http://${LC_HOST}:${LC_ETCD_PEER_PORT}" \
    --unsafe-no-fsync \
    --quota-backend-bytes 2147483648 \
    --log-level warn
}

lc_start_apiserver() {
  lc_check_port "${LC_API_PORT}" "kube-apiserver"
  # --endpoint-reconciler-type=none: the only address is 127.0.0.1 and
  # Endpoints may not hold loopback IPs, so the reconciler would just log
  # errors forever; nothing in-cluster dials the kubernetes Service here.
  lc_launch kube-apiserver "$(lc_bin_for kube-apiserver)" \
    --etcd-servers "http://${LC_HOST}:${LC_ETCD_PORT}" \
    --bind-address "${LC_HOST}" \
    --advertise-address "${LC_HOST}" \
    --secure-port "${LC_API_PORT}" \
    --tls-cert-file "${LC_CERTS}/apiserver.crt" \
    --tls-private-key-file "${LC_CERTS}/apiserver.key" \
    --client-ca-file "${LC_CERTS}/ca.crt" \
    --requestheader-client-ca-file "${LC_CERTS}/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "${LC_CERTS}/front-proxy-client.crt" \
    --proxy-client-key-file "${LC_CERTS}/front-proxy-client.key" \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "${LC_CERTS}/sa.pub" \
    --service-account-signing-key-file "${LC_CERTS}/sa.key" \
    --service-cluster-ip-range "${LC_SERVICE_CIDR}" \
    --endpoint-reconciler-type none \
    --kubelet-preferred-address-types InternalIP \
    --allow-privileged=true \
    --profiling=false \
    --v=1
}

lc_start_kcm() {
  lc_check_port "${LC_KCM_PORT}" "kube-controller-manager"
  local kc="${LC_CONF}/kube-controller-manager.kubeconfig"
  # --use-service-account-credentials: each controller acts as its own SA, as
  # in a real cluster, so RBAC problems show up here too. The signing pair
  # lets CSRs (and so anything that asks for certificates) be approved/signed.
  # Recycle reclaim of the hostPath pool needs the recycler pod, which kwok's
  # pv-recycler stage completes (see lc_kwok_config).
  lc_launch kube-controller-manager "$(lc_bin_for kube-controller-manager)" \
    --kubeconfig "${kc}" \
    --authentication-kubeconfig "${kc}" \
    --authorization-kubeconfig "${kc}" \
    --bind-address "${LC_HOST}" \
    --secure-port "${LC_KCM_PORT}" \
    --cert-dir "${LC_DIR}/data/kube-controller-manager" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "${LC_CERTS}/sa.key" \
    --root-ca-file "${LC_CERTS}/ca.crt" \
    --cluster-signing-cert-file "${LC_CERTS}/ca.crt" \
    --cluster-signing-key-file "${LC_CERTS}/ca.key" \
    --controllers '*' \
    --profiling=false \
    --v=1
}

lc_start_scheduler() {
  lc_check_port "${LC_SCHED_PORT}" "kube-scheduler"
  local kc="${LC_CONF}/kube-scheduler.kubeconfig"
  lc_launch kube-scheduler "$(lc_bin_for kube-scheduler)" \
    --kubeconfig "${kc}" \
    --authentication-kubeconfig "${kc}" \
    --authorization-kubeconfig "${kc}" \
    --bind-address "${LC_HOST}" \
    --secure-port "${LC_SCHED_PORT}" \
    --cert-dir "${LC_DIR}/data/kube-scheduler" \
    --leader-elect=false \
    --profiling=false \
    --v=1
}

# kwok's stage list: the defaults kwokctl uses (copied from the pinned kwok
# module at build time) plus our own pv-recycler and crash-loop stages.
lc_kwok_config() {
  mkdir -p "${LC_CONF}/kwok"
  # The PV controller recycles a released hostPath volume by running a
  # "recycler-for-<pv>" pod (container "pv-recycler", restartPolicy Never) and
  # waiting for it to succeed. kwok's default
  # pod-complete stage only finishes Job pods, so without this stage recycled
  # volumes would fail and the pool would drain as environments come and go.
  cat >"${LC_CONF}/kwok/pv-recycler-complete.yaml" <<'EOF'
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: qa-pv-recycler-complete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.spec.restartPolicy'
      operator: 'In'
      values:
      - 'Never'
    - key: '.spec.containers.[].name'
      operator: 'In'
      values:
      - 'pv-recycler'
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Succeeded
EOF
  local files=() f
  for f in "${LC_STAGES_DIR}"/*.yaml "${LC_CONF}/kwok/pv-recycler-complete.yaml" \
    "${LC_SCRIPT_DIR}/lib/kwok-crash-loop-stage.yaml"; do
    files+=("${f}")
  done
  local IFS=,
  printf '%s' "${files[*]}"
}

lc_start_kwok() {
  local stages
  stages="$(lc_kwok_config)"
  lc_check_port "${LC_KWOK_PORT}" "kwok"
  lc_kubectl apply -f "${LC_STAGES_DIR}/crds" >/dev/null
  lc_kubectl wait --for=condition=Established --timeout=60s crd/clusterlogs.kwok.x-k8s.io crd/logs.kwok.x-k8s.io >/dev/null
  # --v WARN: at INFO kwok logs every lease renewal (a line per node per 10s).
  # --server-address: kwok's kubelet-like server on loopback, which the API
  # server reaches at every Node's InternalIP (127.0.0.1) and kubeletEndpoint
  # port for `kubectl logs`; it serves the files that ClusterLogs/Logs objects
  # name (--enable-crds), in the CRI log format the kubelet reads. Without a
  # certificate it serves TLS with a self-signed one, which the API server
  # does not verify (no --kubelet-certificate-authority, as on many clusters).
  # Node IP 127.0.0.1: anything that does try to reach a "kubelet" stays on
  # this machine. Pod IPs come from LC_POD_CIDR, a loopback /16: test
  # stand-ins bind them and answer HTTP there, so a pod address is reachable
  # without any route leaving this machine. The price: the API server refuses
  # loopback addresses in Endpoints and EndpointSlices (ValidateEndpointIP),
  # so those stay empty, and clients (Traefik with nativeLBByDefault) dial a
  # Service's ClusterIP instead.
  lc_launch kwok "$(lc_bin_for kwok)" \
    --kubeconfig "${LC_CONF}/kwok.kubeconfig" \
    --config "${stages}" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip "${LC_HOST}" \
    --cidr "${LC_POD_CIDR}" \
    --node-lease-duration-seconds 40 \
    --server-address "${LC_HOST}:${LC_KWOK_PORT}" \
    --node-port "${LC_KWOK_PORT}" \
    --enable-crds ClusterLogs,Logs \
    --v WARN
}

