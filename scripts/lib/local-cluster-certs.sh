# shellcheck shell=bash
# Certificates and the kubeconfig of the local control plane (sourced by scripts/local-cluster after
# local-cluster-run.sh, whose LC_CERTS/LC_CONF it uses).

# --- certificates ----------------------------------------------------------

lc_openssl() {
  openssl "$@" 2>>"${LC_LOGS}/openssl.log" >/dev/null || {
    tail -n 20 "${LC_LOGS}/openssl.log" >&2
    lc_die "openssl $1 failed"
  }
}

# Client or server certificate signed by the cluster CA (or by the CA named
# in LC_SIGNING_CA).
# lc_cert NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
lc_cert() {
  local name="$1" subj="$2" eku="$3" san="${4:-}" ext="${LC_CERTS}/$1.ext"
  [[ -f "${LC_CERTS}/${name}.crt" ]] && return 0
  {
    printf 'basicConstraints=critical,CA:FALSE\n'
    printf 'keyUsage=critical,digitalSignature,keyEncipherment\n'
    printf 'extendedKeyUsage=%s\n' "${eku}"
    [[ -n "${san}" ]] && printf 'subjectAltName=%s\n' "${san}"
  } >"${ext}"
  lc_openssl genrsa -out "${LC_CERTS}/${name}.key" 2048
  lc_openssl req -new -key "${LC_CERTS}/${name}.key" -subj "${subj}" -out "${LC_CERTS}/${name}.csr"
  local ca="${LC_SIGNING_CA:-ca}"
  lc_openssl x509 -req -in "${LC_CERTS}/${name}.csr" -CA "${LC_CERTS}/${ca}.crt" -CAkey "${LC_CERTS}/${ca}.key" \
    -CAcreateserial -days 3650 -extfile "${ext}" -out "${LC_CERTS}/${name}.crt"
  rm -f "${LC_CERTS}/${name}.csr" "${ext}"
}

lc_make_certs() {
  mkdir -p "${LC_CERTS}"
  chmod 700 "${LC_CERTS}"
  if [[ ! -f "${LC_CERTS}/ca.crt" ]]; then
    lc_log "creating certificates in ${LC_CERTS}"
    lc_openssl genrsa -out "${LC_CERTS}/ca.key" 2048
    lc_openssl req -x509 -new -key "${LC_CERTS}/ca.key" -subj "/CN=qa-k8s-local-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "${LC_CERTS}/ca.crt"
  fi
  # Serving cert: clients reach the API as 127.0.0.1/localhost; the in-cluster
  # names and the first service IP are there for pods that read the in-cluster
  # config (nothing here routes to them, but the cert matches a real cluster).
  lc_cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,DNS:localhost,IP:${LC_KUBERNETES_SERVICE_IP},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # Front proxy (request-header authentication): the apiserver proxies to
  # aggregated APIs with this client cert, and the controller-manager and
  # scheduler read its CA from kube-system/extension-apiserver-authentication;
  # without it they log "missing content for CA bundle" every few seconds.
  if [[ ! -f "${LC_CERTS}/front-proxy-ca.crt" ]]; then
    lc_openssl genrsa -out "${LC_CERTS}/front-proxy-ca.key" 2048
    lc_openssl req -x509 -new -key "${LC_CERTS}/front-proxy-ca.key" -subj "/CN=qa-k8s-front-proxy-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "${LC_CERTS}/front-proxy-ca.crt"
  fi
  LC_SIGNING_CA=front-proxy-ca lc_cert front-proxy-client "/CN=front-proxy-client" clientAuth
  # Identities the default RBAC bootstrap policy already knows.
  lc_cert admin "/O=system:masters/CN=qa-local-admin" clientAuth
  lc_cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
  lc_cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
  # kwok plays every kubelet (nodes, leases, pod status across all nodes), more
  # than the Node authorizer grants one kubelet, so it runs as an admin.
  lc_cert kwok "/O=system:masters/CN=kwok-controller" clientAuth
  # Service-account token signing pair: the apiserver signs and verifies, the
  # controller-manager's token controller uses the private key.
  if [[ ! -f "${LC_CERTS}/sa.key" ]]; then
    lc_openssl genrsa -out "${LC_CERTS}/sa.key" 2048
    lc_openssl rsa -in "${LC_CERTS}/sa.key" -pubout -out "${LC_CERTS}/sa.pub"
  fi
  chmod 600 "${LC_CERTS}"/*.key
}

# Self-contained kubeconfig (certs embedded) so it can be copied or passed to
# Pulumi as a string.
lc_write_kubeconfig() {
  local file="$1" user="$2" tmp
  tmp="${file}.tmp"
  cat >"${tmp}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: qa-local
  cluster:
    server: https://${LC_HOST}:${LC_API_PORT}
    certificate-authority-data: $(base64 -w0 <"${LC_CERTS}/ca.crt")
users:
- name: ${user}
  user:
    client-certificate-data: $(base64 -w0 <"${LC_CERTS}/${user}.crt")
    client-key-data: $(base64 -w0 <"${LC_CERTS}/${user}.key")
contexts:
- name: qa-local
  context:
    cluster: qa-local
    user: ${user}
current-context: qa-local
EOF
  chmod 600 "${tmp}"
  mv -f "${tmp}" "${file}"
}

