# shellcheck shell=bash
# `scripts/local-cluster start|stop|status|kubeconfig`: run the control plane
# processes on 127.0.0.1 with state under ${LC_DIR}.

LC_CERTS="${LC_DIR}/certs"
LC_LOGS="${LC_DIR}/logs"
LC_PIDS="${LC_DIR}/pids"
LC_CONF="${LC_DIR}/config"
# Marks a directory as ours, so `stop --purge` never deletes something else
# that QA_CLUSTER_DIR was pointed at by mistake.
LC_MARKER="${LC_DIR}/.qa-k8s-local-cluster"

lc_kubectl() {
  "${LC_BIN}/kubectl" --kubeconfig "${LC_KUBECONFIG}" "$@"
}

lc_bin_for() {
  printf '%s/%s' "${LC_BIN}" "$1"
}

lc_missing_bins() {
  local c
  for c in "${LC_COMPONENTS[@]}" kubectl; do
    [[ -x "$(lc_bin_for "${c}")" ]] || printf '%s ' "${c}"
  done
  [[ -f "${LC_STAGES_DIR}/.stamp" ]] || printf 'kwok-stages '
}

# `start` builds missing binaries on first use (tests and `npm start` just
# call start), unless QA_CLUSTER_NO_BUILD=1 or Go is absent: then it stops
# with what to run instead.
lc_require_bins() {
  local missing
  missing="$(lc_missing_bins)"
  if [[ -n "${missing}" ]]; then
    if [[ "${QA_CLUSTER_NO_BUILD:-0}" != 1 ]] && command -v go >/dev/null 2>&1; then
      lc_log "missing in ${LC_BIN}: ${missing}- building them first (scripts/local-cluster build; ~15 min cold)"
      lc_cmd_build
      missing="$(lc_missing_bins)"
    fi
    [[ -z "${missing}" ]] ||
      lc_die "missing binaries in ${LC_BIN}: ${missing}- run 'scripts/local-cluster build' first (builds from the Go module proxy; ~15 min cold)."
  fi
  command -v openssl >/dev/null 2>&1 || lc_die "openssl is needed on PATH to create the cluster certificates"
  command -v curl >/dev/null 2>&1 || lc_die "curl is needed on PATH for health checks"
}

# --- processes -------------------------------------------------------------

# PID of a running component, or nothing. The command line must still be our
# binary: after a reboot a stale pid file may name an unrelated process.
lc_pid() {
  local name="$1" pidfile="${LC_PIDS}/$1.pid" pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(cat "${pidfile}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
  [[ "${cmdline}" == *"$(lc_bin_for "${name}")"* ]] || return 1
  printf '%s' "${pid}"
}

lc_running() {
  lc_pid "$1" >/dev/null
}

lc_log_tail() {
  local name="$1"
  printf '[local-cluster] --- last lines of %s ---\n' "${LC_LOGS}/${name}.log" >&2
  tail -n 25 "${LC_LOGS}/${name}.log" >&2 2>/dev/null || true
  printf '[local-cluster] ---\n' >&2
}

lc_component_died() {
  lc_log_tail "$1"
  lc_die "$1 exited during startup (log above; full log ${LC_LOGS}/$1.log)"
}

# Start a component in its own session (setsid) so Ctrl-C in the shell that
# ran `start` (e.g. `npm start`) does not take the cluster down with it. The
# pid is written by the process itself right before exec, so it is exact.
lc_launch() {
  local name="$1"
  shift
  local pidfile="${LC_PIDS}/${name}.pid"
  rm -f "${pidfile}"
  printf '\n==== %s started %s ====\n' "${name}" "$(date -u +%FT%TZ)" >>"${LC_LOGS}/${name}.log"
  # shellcheck disable=SC2016 # $$ and $@ are for the inner shell
  # 9>&-: do not hand the lock (lc_lock) to a long-lived daemon.
  setsid bash -c 'echo "$$" >"$0"; exec "$@"' "${pidfile}" "$@" \
    >>"${LC_LOGS}/${name}.log" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 1 50); do
    [[ -s "${pidfile}" ]] && break
    sleep 0.1
  done
  lc_log "started ${name} (pid $(cat "${pidfile}" 2>/dev/null || echo '?'), log ${LC_LOGS}/${name}.log)"
}

# Wait until "$@" succeeds; fail with the component's log if it dies first.
lc_wait_for() {
  local name="$1" what="$2" timeout="$3"
  shift 3
  local start="${SECONDS}" next=5
  until "$@" >/dev/null 2>&1; do
    lc_running "${name}" || lc_component_died "${name}"
    if ((SECONDS - start >= timeout)); then
      lc_log_tail "${name}"
      lc_die "timed out after ${timeout}s waiting for ${what}"
    fi
    if ((SECONDS - start >= next)); then
      lc_log "  waiting for ${what} ($((SECONDS - start))s)"
      next=$((next + 5))
    fi
    sleep 0.5
  done
  lc_log "${what}: ok ($((SECONDS - start))s)"
}

# A port counts as taken if anything accepts on 127.0.0.1 (which includes
# wildcard listeners) or `ss` lists a listener on it.
lc_port_busy() {
  local port="$1"
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/${port}" 2>/dev/null; then
    return 0
  fi
  if command -v ss >/dev/null 2>&1 && [[ -n "$(ss -Hltn "sport = :${port}" 2>/dev/null)" ]]; then
    return 0
  fi
  return 1
}

lc_check_port() {
  local port="$1" who="$2" holder=""
  if lc_port_busy "${port}"; then
    if command -v ss >/dev/null 2>&1; then
      holder="$(ss -Hltnp "sport = :${port}" 2>/dev/null | sed -n '1s/.*users:((\(.*\)))/ (held by \1)/p' || true)"
    fi
    lc_die "port ${port} on 127.0.0.1, needed by ${who}, is already in use${holder}. Stop that process, or set QA_CLUSTER_PORT to another base (the cluster uses ports QA_CLUSTER_PORT..QA_CLUSTER_PORT+5; now ${LC_API_PORT})."
  fi
}

# --- commands ---------------------------------------------------------------

lc_prepare_dirs() {
  if [[ -d "${LC_DIR}" && ! -f "${LC_MARKER}" && -n "$(ls -A "${LC_DIR}")" ]]; then
    lc_die "${LC_DIR} exists, is not empty and was not created by this script; point QA_CLUSTER_DIR elsewhere"
  fi
  mkdir -p "${LC_DIR}" "${LC_LOGS}" "${LC_PIDS}" "${LC_CONF}" "${LC_DIR}/data"
  touch "${LC_MARKER}"
  # Ports are recorded so `status`/`stop` run with other variables still
  # talk to the cluster that is actually running.
  printf '%s\n' "${LC_API_PORT}" >"${LC_DIR}/port"
  printf '%s\n' "${LC_WORKERS}" >"${LC_DIR}/workers"
  lc_record_network
}

# The lock sits next to the state dir, not in it, so `stop --purge` can
# remove the whole directory while holding it.
lc_lock_state() {
  lc_lock "${LC_DIR%/}.lock"
}

lc_cmd_start() {
  lc_require_bins
  lc_lock_state
  lc_check_network
  local c all=1 any=0
  for c in "${LC_COMPONENTS[@]}"; do
    if lc_running "${c}"; then any=1; else all=0; fi
  done
  # Parts still running keep the ports they were started with.
  if [[ "${any}" -eq 1 && -f "${LC_DIR}/port" ]]; then
    LC_API_PORT="$(cat "${LC_DIR}/port")"
    lc_set_ports
  fi
  # The stamp of a start that went to the end: one killed half-way (a test run interrupted after the nodes, before
  # the storage) left running parts that look ready, and the next start took them as they were, without volumes.
  if [[ "${all}" -eq 1 && -f "${LC_DIR}/started" ]] && lc_api_ready && lc_nodes_ready; then
    lc_log "already running: https://${LC_HOST}:${LC_API_PORT} (kubeconfig ${LC_KUBECONFIG})"
    return 0
  fi
  # Check every port this run will bind before starting anything, so a clash
  # does not leave a half-started cluster behind.
  lc_running kube-apiserver || lc_check_port "${LC_API_PORT}" "kube-apiserver"
  if ! lc_running etcd; then
    lc_check_port "${LC_ETCD_PORT}" "etcd (client)"
    lc_check_port "${LC_ETCD_PEER_PORT}" "etcd (peer)"
  fi
  lc_running kube-controller-manager || lc_check_port "${LC_KCM_PORT}" "kube-controller-manager"
  lc_running kube-scheduler || lc_check_port "${LC_SCHED_PORT}" "kube-scheduler"
  # From here on a failure may leave some components running; say how to
  # clean up.
  # shellcheck disable=SC2034 # read by lc_die
  LC_DIE_HINT="'scripts/local-cluster status' shows what runs; 'scripts/local-cluster stop' stops it"
  lc_prepare_dirs
  rm -f "${LC_DIR}/started"
  lc_log "starting local cluster in ${LC_DIR} (API https://${LC_HOST}:${LC_API_PORT})"
  lc_make_certs
  lc_write_kubeconfig "${LC_KUBECONFIG}" admin
  lc_write_kubeconfig "${LC_CONF}/kube-controller-manager.kubeconfig" kube-controller-manager
  lc_write_kubeconfig "${LC_CONF}/kube-scheduler.kubeconfig" kube-scheduler
  lc_write_kubeconfig "${LC_CONF}/kwok.kubeconfig" kwok

  if lc_running etcd; then lc_log "etcd: already running"; else lc_start_etcd; fi
  lc_wait_for etcd "etcd health" 60 lc_etcd_healthy

  if lc_running kube-apiserver; then lc_log "kube-apiserver: already running"; else lc_start_apiserver; fi
  lc_wait_for kube-apiserver "kube-apiserver /readyz" 120 lc_api_ready

  if lc_running kube-controller-manager; then lc_log "kube-controller-manager: already running"; else lc_start_kcm; fi
  if lc_running kube-scheduler; then lc_log "kube-scheduler: already running"; else lc_start_scheduler; fi
  if lc_running kwok; then lc_log "kwok: already running"; else lc_start_kwok; fi
  lc_wait_for kube-controller-manager "kube-controller-manager /healthz" 60 lc_kcm_healthy
  lc_wait_for kube-scheduler "kube-scheduler /healthz" 60 lc_sched_healthy

  lc_apply_nodes
  lc_apply_storage
  lc_wait_for kwok "$((LC_WORKERS + 1)) nodes Ready" 90 lc_nodes_ready
  # Pods cannot be created in a namespace before its default ServiceAccount
  # exists; waiting here saves the first deployment a confusing failure.
  lc_wait_for kube-controller-manager "default ServiceAccount" 60 lc_kubectl get serviceaccount default -n default
  for c in "${LC_COMPONENTS[@]}"; do lc_running "${c}" || lc_component_died "${c}"; done
  : >"${LC_DIR}/started"
  lc_log "ready: https://${LC_HOST}:${LC_API_PORT}; export KUBECONFIG=${LC_KUBECONFIG}"
}

# Stop components in groups: first everything that talks to the API, then
# the API server, then etcd, so nothing logs errors about a vanished backend.
# Members of a group get SIGTERM together, then up to 15s to exit.
lc_stop_group() {
  local name pid pids=() names=() i alive
  for name in "$@"; do
    if pid="$(lc_pid "${name}")"; then
      kill -TERM "${pid}" 2>/dev/null || true
      pids+=("${pid}")
      names+=("${name}")
    fi
    rm -f "${LC_PIDS}/${name}.pid"
  done
  [[ "${#pids[@]}" -gt 0 ]] || return 0
  for i in $(seq 1 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "${pid}" 2>/dev/null && alive=1; done
    [[ "${alive}" -eq 0 ]] && break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[i]}" 2>/dev/null; then
      lc_log "${names[i]} (pid ${pids[i]}) ignored SIGTERM for 15s; sending SIGKILL"
      kill -KILL "${pids[i]}" 2>/dev/null || true
    fi
    lc_log "stopped ${names[i]} (pid ${pids[i]})"
  done
}

lc_cmd_stop() {
  local purge=0 arg
  for arg in "$@"; do
    case "${arg}" in
      --purge) purge=1 ;;
      *) lc_die "stop: unknown option ${arg} (only --purge)" ;;
    esac
  done
  lc_lock_state
  rm -f "${LC_DIR}/started"
  if [[ -d "${LC_PIDS}" ]]; then
    lc_stop_group kwok kube-scheduler kube-controller-manager
    lc_stop_group kube-apiserver
    lc_stop_group etcd
  fi
  if [[ "${purge}" -eq 1 && -d "${LC_DIR}" ]]; then
    [[ -f "${LC_MARKER}" ]] || lc_die "refusing to purge ${LC_DIR}: it lacks the marker file this script creates"
    rm -rf "${LC_DIR}"
    lc_log "purged ${LC_DIR}"
  fi
  lc_log "stopped"
}

lc_cmd_status() {
  local c pid healthy=0 line
  if [[ -f "${LC_DIR}/port" ]]; then
    LC_API_PORT="$(cat "${LC_DIR}/port")"
    lc_set_ports
  fi
  # Judge the node count against what `start` created, not this shell's env.
  [[ -f "${LC_DIR}/workers" ]] && LC_WORKERS="$(cat "${LC_DIR}/workers")"
  printf 'state dir:  %s\n' "${LC_DIR}"
  printf 'api server: https://%s:%s\n' "${LC_HOST}" "${LC_API_PORT}"
  printf 'kubeconfig: %s\n' "${LC_KUBECONFIG}"
  for c in "${LC_COMPONENTS[@]}"; do
    if pid="$(lc_pid "${c}")"; then
      printf '  %-24s running (pid %s)\n' "${c}" "${pid}"
    else
      printf '  %-24s NOT running\n' "${c}"
      healthy=1
      if [[ -f "${LC_PIDS}/${c}.pid" && -f "${LC_LOGS}/${c}.log" ]]; then
        # It was started and has died since: show why.
        lc_log_tail "${c}"
      fi
    fi
  done
  if [[ -f "${LC_CERTS}/ca.crt" ]] && lc_api_ready; then
    printf '  %-24s ok\n' "/readyz"
    line="$(lc_kubectl get nodes --no-headers 2>/dev/null | awk '{n++} $2=="Ready"{r++} END{printf "%d/%d", r, n}')"
    printf '  %-24s %s Ready (want %s)\n' "nodes" "${line}" "$((LC_WORKERS + 1))"
    lc_nodes_ready || healthy=1
  else
    printf '  %-24s not ready\n' "/readyz"
    healthy=1
  fi
  if [[ "${healthy}" -eq 0 ]]; then
    printf 'healthy\n'
  else
    printf 'NOT healthy\n'
  fi
  return "${healthy}"
}

# `scripts/local-cluster kubectl ARGS...`: the matching kubectl, pointed at
# this cluster.
lc_cmd_kubectl() {
  [[ -x "${LC_BIN}/kubectl" ]] || lc_die "kubectl missing in ${LC_BIN}; run 'scripts/local-cluster build'"
  exec "${LC_BIN}/kubectl" --kubeconfig "${LC_KUBECONFIG}" "$@"
}

lc_cmd_kubeconfig() {
  # The path is fixed, so it is printed (exit 0) even before the first start,
  # e.g. for configuring a tool ahead of time; stderr says if it is missing.
  printf '%s\n' "${LC_KUBECONFIG}"
  if [[ ! -f "${LC_KUBECONFIG}" ]]; then
    printf '[local-cluster] note: %s does not exist yet; run scripts/local-cluster start\n' "${LC_KUBECONFIG}" >&2
  fi
}
