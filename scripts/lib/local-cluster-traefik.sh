# shellcheck shell=bash
# Traefik for the tests: `scripts/local-cluster build` compiles it from the Go
# module proxy next to the control plane binaries and copies Traefik's own CRD
# definitions; `traefik-crds` installs them (plus an IngressClass) into a
# running local cluster; `traefik-bin` prints the binary's path. Sourced by
# scripts/local-cluster after local-cluster-build.sh, never executed.
#
# Why this version: the QA clusters run K3s's bundled Traefik, and K3s ships
# the 3.7 line on every supported release (1.33-1.36 were bumped to 3.7.4,
# 1.37 to 3.7.13; rke2-charts carried 3.7.8). Same minor, same CRDs, same
# provider behaviour, which is what the tests depend on.
LC_TRAEFIK_VERSION="3.7.8"
LC_TRAEFIK_MODULE="github.com/traefik/traefik/v3"
# Definitions from the pinned module, stamped like kwok's stages.
LC_TRAEFIK_CRDS_DIR="${LC_PREFIX}/traefik-crds"

# Traefik's go.mod requires github.com/traefik/traefik/dynamic/ext at a
# placeholder version and replaces it with ./pkg/config/dynamic/ext. That
# nested module is neither on the proxy nor in the traefik module's zip (the Go
# tooling leaves directories with their own go.mod out of a module's zip), so
# the wrapper points the requirement at a stand-in of our own. Upstream uses
# the package only as an extension hook: dynamic.HTTP and dynamic.Router embed
# ext.HTTP and ext.Router inline, and the open-source build has them empty.
# If a later version starts using more of the package, the build fails loudly
# at compile time rather than misbehaving.
lc_traefik_write_ext_stub() {
  local dir="$1"
  mkdir -p "${dir}"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.26.0\n' >"${dir}/go.mod"
  cat >"${dir}/ext.go" <<'EOF'
// Package ext is the qa-k8s stand-in for Traefik's dynamic configuration
// extension hook (empty in the open-source build); see local-cluster-traefik.sh.
package ext

type HTTP struct{}

type Router struct{}
EOF
}

# The wrapper must repeat upstream's other replaces too (only the main
# module's count): its forks of go-http-auth and gorilla/mux carry changes
# Traefik's code relies on. Every module-to-module `a => b vX` line, in a
# replace block or not, becomes one replace line; directory replaces (=> ./..)
# are left out, the wrapper handles the one there is. The excludes work around
# an ambiguous import in a dependency and likewise only count in the main module.
lc_traefik_upstream_fixups() {
  sed -n 's#^[[:space:]]*\(replace[[:space:]]\)\{0,1\}[[:space:]]*\([^[:space:]/.][^[:space:]]*\) => \([^.][^[:space:]]*\) \(v[^[:space:]]*\)[[:space:]]*$#replace \2 => \3 \4#p' "$1"
  grep -E '^exclude ' "$1" || true
}

# Traefik's own CRDs (all traefik.io kinds in one file) and the ClusterRole its
# Kubernetes providers need, from the pinned module, so the tests' cluster
# validates Middlewares etc. against the real schemas of the Traefik they run.
lc_traefik_copy_crds() {
  local moddir="$1" src="$1/docs/content/reference/dynamic-configuration"
  local f
  rm -rf "${LC_TRAEFIK_CRDS_DIR}"
  mkdir -p "${LC_TRAEFIK_CRDS_DIR}"
  for f in kubernetes-crd-definition-v1.yml kubernetes-crd-rbac.yml; do
    [[ -f "${src}/${f}" ]] || lc_die "Traefik ${f} not found in ${src}"
    cp "${src}/${f}" "${LC_TRAEFIK_CRDS_DIR}/${f}"
  done
  chmod -R u+w "${LC_TRAEFIK_CRDS_DIR}"
  printf '%s@v%s' "${LC_TRAEFIK_MODULE}" "${LC_TRAEFIK_VERSION}" >"${LC_TRAEFIK_CRDS_DIR}/.stamp"
}

lc_traefik_crds_current() {
  [[ -f "${LC_TRAEFIK_CRDS_DIR}/.stamp" && "$(cat "${LC_TRAEFIK_CRDS_DIR}/.stamp")" == "${LC_TRAEFIK_MODULE}@v${LC_TRAEFIK_VERSION}" ]]
}

lc_build_traefik() {
  local want="${LC_TRAEFIK_MODULE}@v${LC_TRAEFIK_VERSION}"
  local dir="${LC_SRC}/traefik" log="${LC_PREFIX}/logs/build-traefik.log"
  if lc_have traefik "${want}" && lc_traefik_crds_current; then
    lc_log "traefik v${LC_TRAEFIK_VERSION}: reusing ${LC_BIN}/traefik"
    return 0
  fi
  lc_log "traefik v${LC_TRAEFIK_VERSION}: building (cold: ~15 CPU-minutes; 8-30 min on 2 cores, by load)"
  local t="${SECONDS}" upstream moddir
  : >"${log}"
  upstream="$(lc_upstream_gomod "${want}")"
  [[ -n "${upstream}" ]] || lc_die "could not download ${want} from the module proxy"
  lc_wrapper_init "${dir}" "${upstream}"
  lc_traefik_write_ext_stub "${dir}/ext"
  {
    printf '\nreplace github.com/traefik/traefik/dynamic/ext => ./ext\n'
    lc_traefik_upstream_fixups "${upstream}"
  } >>"${dir}/go.mod"
  lc_log "  wrapper go.mod: $(grep -c '^replace ' "${dir}/go.mod") replaces (dynamic/ext -> local stand-in)"
  lc_run_logged "traefik: go get (downloads ~400 modules)" "${log}" "${dir}" \
    "${LC_GO[@]}" get "${LC_TRAEFIK_MODULE}/cmd/traefik@v${LC_TRAEFIK_VERSION}"
  # The same -X flags as upstream's Makefile, so `traefik version` and the
  # API's /api/version tell the truth (the codename says whose build it is); the date is the release's module time
  # to keep the build reproducible. The web UI is go:embed'ed from
  # webui/static, which the module zip ships holding only a placeholder file:
  # enough for the embed to compile; the API (all the tests use) works without
  # the built dashboard.
  local date
  date="$(cd "${dir}" && lc_go list -m -f '{{.Time}}' "${LC_TRAEFIK_MODULE}" | sed 's/ +0000 UTC$//; s/ /T/')Z"
  local pkg="${LC_TRAEFIK_MODULE}/pkg/version"
  lc_run_logged "traefik: go build" "${log}" "${dir}" \
    nice "${LC_GO[@]}" build -v -trimpath \
    -ldflags "-s -w -X ${pkg}.Version=v${LC_TRAEFIK_VERSION} -X ${pkg}.Codename=qa-k8s -X ${pkg}.BuildDate=${date}" \
    -o "${LC_BIN}/.traefik.tmp" "${LC_TRAEFIK_MODULE}/cmd/traefik"
  mv -f "${LC_BIN}/.traefik.tmp" "${LC_BIN}/traefik"
  moddir="$(cd "${dir}" && lc_go list -m -f '{{.Dir}}' "${LC_TRAEFIK_MODULE}")"
  lc_traefik_copy_crds "${moddir}"
  lc_stamp traefik "${want}"
  lc_log "traefik v${LC_TRAEFIK_VERSION}: built in $((SECONDS - t))s"
}

# `traefik-bin`: the binary's path, building it first unless told not to.
lc_cmd_traefik_bin() {
  if ! lc_have traefik "${LC_TRAEFIK_MODULE}@v${LC_TRAEFIK_VERSION}" || ! lc_traefik_crds_current; then
    [[ "${QA_CLUSTER_NO_BUILD:-}" != "1" ]] || lc_die "traefik v${LC_TRAEFIK_VERSION} is not built (QA_CLUSTER_NO_BUILD=1); run scripts/local-cluster build"
    lc_check_go
    mkdir -p "${LC_BIN}" "${LC_SRC}" "${LC_PREFIX}/logs"
    lc_lock "${LC_PREFIX}/.build.lock"
    lc_build_traefik
  fi
  printf '%s\n' "${LC_BIN}/traefik"
}

# `traefik-crds`: what K3s's traefik-crd chart and Traefik's chart would put
# into a cluster for the providers to work: the traefik.io CRDs, Traefik's
# ClusterRole, and the `traefik` IngressClass. The RBAC file also binds the
# role to a default/traefik-ingress-controller ServiceAccount, as Traefik's
# docs ship it; harmless here, the tests' Traefik uses the admin kubeconfig. Server-side apply with
# --force-conflicts: the CRDs are too big for client-side apply's annotation,
# and re-running over an older copy must simply win.
lc_cmd_traefik_crds() {
  lc_cmd_traefik_bin >/dev/null
  [[ -f "${LC_KUBECONFIG}" ]] || lc_die "${LC_KUBECONFIG} does not exist; run scripts/local-cluster start"
  # Not lc_cmd_kubectl: that one execs, and this needs several calls.
  local kubectl=("${LC_BIN}/kubectl" --kubeconfig "${LC_KUBECONFIG}") names
  "${kubectl[@]}" apply --server-side --force-conflicts --field-manager=qa-k8s-traefik \
    -f "${LC_TRAEFIK_CRDS_DIR}/kubernetes-crd-definition-v1.yml" \
    -f "${LC_TRAEFIK_CRDS_DIR}/kubernetes-crd-rbac.yml" >/dev/null
  "${kubectl[@]}" apply --server-side --force-conflicts --field-manager=qa-k8s-traefik -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
spec:
  controller: traefik.io/ingress-controller
EOF
  names="$(sed -n 's/^  name: \([a-z.]*\.traefik\.io\)$/crd\/\1/p' "${LC_TRAEFIK_CRDS_DIR}/kubernetes-crd-definition-v1.yml")"
  [[ -n "${names}" ]] || lc_die "no traefik.io CRDs found in ${LC_TRAEFIK_CRDS_DIR}"
  # shellcheck disable=SC2086 # one argument per CRD
  "${kubectl[@]}" wait --for=condition=Established --timeout=60s ${names} >/dev/null
  lc_log "traefik v${LC_TRAEFIK_VERSION}: $(wc -w <<<"${names}") CRDs, ClusterRole and IngressClass traefik applied"
}
