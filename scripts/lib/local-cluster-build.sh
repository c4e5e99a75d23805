# shellcheck shell=bash
# `scripts/local-cluster build`: compile etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok from the Go module proxy.
#
# Why wrapper modules: `go install mod@version` refuses modules whose go.mod has
# replace directives, and both etcd's server module and k8s.io/kubernetes have
# them. In a small generated module only the wrapper's own replaces count, so
# we can require the real module and fix up what its replaces used to do.

# shellcheck source=SCRIPTDIR/heartbeat.sh
source "$(dirname "${BASH_SOURCE[0]}")/heartbeat.sh"

# lc_run_logged LABEL LOGFILE DIR COMMAND...  (COMMAND runs in DIR, with a heartbeat; see heartbeat.sh)
lc_run_logged() { heartbeat_run lc_log "$@"; }

# Go settings shared by all builds. GOTOOLCHAIN=local: never fetch another Go
# toolchain behind the user's back; CGO off: static binaries, as upstream ships.
# LC_GO is an array (not only a function) so lc_run_logged can start go as a
# direct child and so signal exactly that process.
LC_GO=(env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false go)
lc_go() {
  "${LC_GO[@]}" "$@"
}

lc_check_go() {
  command -v go >/dev/null 2>&1 || lc_die "the Go toolchain ('go') is needed to build the local cluster binaries"
  local v
  v="$(go env GOVERSION)"
  v="${v#go}"
  # etcd 3.6.16 and kwok 0.8.0 declare `go 1.26.0`.
  if ! printf '%s\n%s\n' "1.26.0" "${v}" | sort -V -C; then
    lc_die "Go >= 1.26 is needed (found go${v})"
  fi
}

# Path of a module's go.mod as published on the proxy (downloads if needed).
lc_upstream_gomod() {
  lc_go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

# Start a wrapper module in dir $1, copying the `go` and `godebug` lines of the
# upstream go.mod $2: godebug defaults come from the main module only, so
# without copying them the binaries would behave differently from upstream's.
lc_wrapper_init() {
  local dir="$1" upstream="$2" name
  name="$(basename "${dir}")"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  {
    printf 'module qa-k8s.local/build/%s\n\n' "${name}"
    grep -E '^go [0-9.]+$' "${upstream}"
    grep -E '^godebug ' "${upstream}" || true
  } >"${dir}/go.mod"
}

lc_have() {
  # A binary counts as built only with a stamp naming the pinned version, so a
  # version bump in this script rebuilds instead of silently reusing old ones.
  local bin="$1" want="$2"
  [[ -x "${LC_BIN}/${bin}" && -f "${LC_BIN}/.${bin}.stamp" && "$(cat "${LC_BIN}/.${bin}.stamp")" == "${want}" ]]
}

lc_stamp() {
  printf '%s' "$2" >"${LC_BIN}/.$1.stamp"
}

lc_build_etcd() {
  local want="go.etcd.io/etcd/server/v3@v${LC_ETCD_VERSION}"
  if lc_have etcd "${want}"; then
    lc_log "etcd v${LC_ETCD_VERSION}: reusing ${LC_BIN}/etcd"
    return 0
  fi
  lc_log "etcd v${LC_ETCD_VERSION}: building"
  local t="${SECONDS}" dir="${LC_SRC}/etcd" upstream
  : >"${LC_PREFIX}/logs/build-etcd.log"
  upstream="$(lc_upstream_gomod "${want}")"
  lc_wrapper_init "${dir}" "${upstream}"
  # etcd's own replaces point its sibling modules (api, client/pkg, client/v3,
  # pkg) at ../ paths, but it also *requires* them at the same release version,
  # which the proxy serves, so the wrapper needs no replace at all. The module
  # root package (main.go -> etcdmain) is the etcd server binary.
  lc_run_logged "etcd: go get" "${LC_PREFIX}/logs/build-etcd.log" "${dir}" \
    "${LC_GO[@]}" get "go.etcd.io/etcd/server/v3@v${LC_ETCD_VERSION}"
  lc_run_logged "etcd: go build" "${LC_PREFIX}/logs/build-etcd.log" "${dir}" \
    "${LC_GO[@]}" build -v -trimpath -ldflags "-s -w" -o "${LC_BIN}/.etcd.tmp" go.etcd.io/etcd/server/v3
  mv -f "${LC_BIN}/.etcd.tmp" "${LC_BIN}/etcd"
  lc_stamp etcd "${want}"
  lc_log "etcd v${LC_ETCD_VERSION}: built in $((SECONDS - t))s"
}

# The definitions of kwok's ClusterLogs/Logs resources, from the pinned module:
# kwok watches them (--enable-crds) but, unlike kwokctl, does not install them.
lc_copy_kwok_crds() {
  local dir="$1" moddir f
  moddir="$(cd "${dir}" && lc_go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  mkdir -p "${LC_STAGES_DIR}/crds"
  for f in kwok.x-k8s.io_clusterlogs.yaml kwok.x-k8s.io_logs.yaml; do
    [[ -f "${moddir}/kustomize/crd/bases/${f}" ]] || lc_die "kwok CRD ${f} not found in ${moddir}"
    cp "${moddir}/kustomize/crd/bases/${f}" "${LC_STAGES_DIR}/crds/${f}"
  done
  chmod -R u+w "${LC_STAGES_DIR}/crds"
  printf 'sigs.k8s.io/kwok@v%s' "${LC_KWOK_VERSION}" >"${LC_STAGES_DIR}/crds/.stamp"
}

lc_build_kwok() {
  local want="sigs.k8s.io/kwok@v${LC_KWOK_VERSION}"
  if lc_have kwok "${want}" && [[ -f "${LC_STAGES_DIR}/.stamp" ]]; then
    lc_log "kwok v${LC_KWOK_VERSION}: reusing ${LC_BIN}/kwok"
    [[ -f "${LC_STAGES_DIR}/crds/.stamp" ]] || lc_copy_kwok_crds "${LC_SRC}/kwok"
    return 0
  fi
  lc_log "kwok v${LC_KWOK_VERSION}: building"
  local t="${SECONDS}" dir="${LC_SRC}/kwok" upstream moddir
  : >"${LC_PREFIX}/logs/build-kwok.log"
  upstream="$(lc_upstream_gomod "${want}")"
  lc_wrapper_init "${dir}" "${upstream}"
  lc_run_logged "kwok: go get" "${LC_PREFIX}/logs/build-kwok.log" "${dir}" \
    "${LC_GO[@]}" get "sigs.k8s.io/kwok/cmd/kwok@v${LC_KWOK_VERSION}"
  # Same ldflags as kwok's hack/releases.sh, so `kwok --version` is truthful.
  lc_run_logged "kwok: go build" "${LC_PREFIX}/logs/build-kwok.log" "${dir}" \
    "${LC_GO[@]}" build -v -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v${LC_KWOK_VERSION} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v${LC_K8S_VERSION}" \
    -o "${LC_BIN}/.kwok.tmp" sigs.k8s.io/kwok/cmd/kwok
  mv -f "${LC_BIN}/.kwok.tmp" "${LC_BIN}/kwok"

  # The kwok binary has no built-in stages (kwokctl injects its defaults); copy
  # the same default set kwokctl uses from the pinned module, rather than
  # committing third-party YAML: node-initialize (node becomes Ready),
  # node-heartbeat-with-lease (keeps it Ready; kwok renews the node Leases),
  # pod-ready / pod-complete / pod-delete (pods Running+Ready, Jobs complete,
  # deletions finish).
  moddir="$(cd "${dir}" && lc_go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  rm -rf "${LC_STAGES_DIR}"
  mkdir -p "${LC_STAGES_DIR}"
  local f
  for f in node/fast/node-initialize.yaml \
    node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f "${moddir}/kustomize/stage/${f}" ]] || lc_die "kwok stage ${f} not found in ${moddir}"
    cp "${moddir}/kustomize/stage/${f}" "${LC_STAGES_DIR}/$(basename "${f}")"
  done
  chmod -R u+w "${LC_STAGES_DIR}"
  lc_copy_kwok_crds "${dir}"
  printf '%s' "${want}" >"${LC_STAGES_DIR}/.stamp"
  lc_stamp kwok "${want}"
  lc_log "kwok v${LC_KWOK_VERSION}: built in $((SECONDS - t))s"
}

lc_build_kubernetes() {
  local want="k8s.io/kubernetes@v${LC_K8S_VERSION}"
  local b all=1
  for b in "${LC_K8S_BINS[@]}"; do
    lc_have "${b}" "${want}" || all=0
  done
  if [[ "${all}" -eq 1 ]]; then
    lc_log "kubernetes v${LC_K8S_VERSION}: reusing ${LC_K8S_BINS[*]}"
    return 0
  fi
  lc_log "kubernetes v${LC_K8S_VERSION}: building ${LC_K8S_BINS[*]} (cold: ~10-20 min on 2 cores)"
  local t="${SECONDS}" dir="${LC_SRC}/kubernetes" upstream minor patch
  : >"${LC_PREFIX}/logs/build-kubernetes.log"
  upstream="$(lc_upstream_gomod "${want}")"
  lc_wrapper_init "${dir}" "${upstream}"
  # k8s.io/kubernetes requires each staging module (k8s.io/api, client-go, ...)
  # at the placeholder v0.0.0 and replaces it with ./staging/src/...; those
  # modules are published as v0.<minor>.<patch>. Derive the list from the
  # upstream replace block so a version bump needs no hand-kept list.
  minor="$(cut -d. -f2 <<<"${LC_K8S_VERSION}")"
  patch="$(cut -d. -f3 <<<"${LC_K8S_VERSION}")"
  local replaces
  replaces="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/\1[[:space:]]*$#\1#p' "${upstream}")"
  [[ -n "${replaces}" ]] || lc_die "found no staging replaces in ${upstream}"
  {
    printf '\nreplace (\n'
    while IFS= read -r b; do
      printf '\t%s => %s v0.%s.%s\n' "${b}" "${b}" "${minor}" "${patch}"
    done <<<"${replaces}"
    printf ')\n'
  } >>"${dir}/go.mod"
  lc_log "  wrapper go.mod: $(wc -l <<<"${replaces}") staging replaces -> v0.${minor}.${patch}"

  local pkgs=()
  for b in "${LC_K8S_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${b}"); done
  local getargs=() p
  for p in "${pkgs[@]}"; do getargs+=("${p}@v${LC_K8S_VERSION}"); done
  lc_run_logged "kubernetes: go get (downloads ~200 modules)" "${LC_PREFIX}/logs/build-kubernetes.log" "${dir}" \
    "${LC_GO[@]}" get "${getargs[@]}"

  # Version stamping as in hack/lib/version.sh, so `--version` and /version
  # report v1.34.x rather than v0.0.0-master. The commit is not knowable from
  # the module proxy; the build date is the release's module timestamp to keep
  # the build reproducible.
  local date ld="-s -w" pkg
  date="$(cd "${dir}" && lc_go list -m -f '{{.Time}}' k8s.io/kubernetes | sed 's/ +0000 UTC$//; s/ /T/')Z"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X ${pkg}.gitVersion=v${LC_K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
    ld+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${date}"
  done
  mkdir -p "${LC_BIN}/.k8s.tmp"
  # One `go build` for all of them so the shared packages compile once.
  lc_run_logged "kubernetes: go build" "${LC_PREFIX}/logs/build-kubernetes.log" "${dir}" \
    "${LC_GO[@]}" build -v -trimpath -ldflags "${ld}" -o "${LC_BIN}/.k8s.tmp/" "${pkgs[@]}"
  for b in "${LC_K8S_BINS[@]}"; do
    mv -f "${LC_BIN}/.k8s.tmp/${b}" "${LC_BIN}/${b}"
    lc_stamp "${b}" "${want}"
  done
  rmdir "${LC_BIN}/.k8s.tmp"
  lc_log "kubernetes v${LC_K8S_VERSION}: built in $((SECONDS - t))s"
}

lc_cmd_build() {
  lc_check_go
  mkdir -p "${LC_BIN}" "${LC_SRC}" "${LC_PREFIX}/logs"
  lc_lock "${LC_PREFIX}/.build.lock"
  lc_log "build: target ${LC_BIN}"
  lc_build_etcd
  lc_build_kwok
  lc_build_kubernetes
  lc_build_traefik
  lc_log "build: all binaries ready in ${LC_BIN} ($((SECONDS - LC_T0))s)"
}
