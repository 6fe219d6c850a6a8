#!/usr/bin/env bash
# Kubernetes (kubeadm-layout) cluster PKI with cfssl, the way people write it by hand:
# a JSON CSR per certificate, `cfssl gencert ... | cfssljson -bare`, strictly sequential.
#
#   cfssl-gen.sh SPEC OUTDIR
#
# SPEC is a sourced shell file (see ha.env): ALG, ENDPOINT_HOST, API_CERT_SANS, SERVICE_IP,
# CONTROL_PLANES and WORKERS ("name:address ..."). Output (cfssljson naming):
#   OUTDIR/pki/{ca,front-proxy-ca,etcd/ca}{.pem,-key.pem}, OUTDIR/pki/sa-key.pem, OUTDIR/pki/sa.pub
#   OUTDIR/nodes/<name>/pki/*{.pem,-key.pem}, OUTDIR/nodes/<name>/kubelet/*{.pem,-key.pem}
#
# `cfssl gencert -initca` always issues CAs with keyUsage "cert sign, crl sign"; to get the
# kubeadm CA profile (digitalSignature, keyEncipherment, keyCertSign) each CA is re-signed by
# its own key with the "ca" profile, a common cfssl idiom.
set -euo pipefail

SPEC=$1
OUT=$2
# shellcheck source=/dev/null
source "$SPEC"
: "${ALG:?}" "${CONTROL_PLANES:?}" "${WORKERS=}" "${ENDPOINT_HOST=}" "${API_CERT_SANS=}" "${SERVICE_IP:=10.96.0.1}"

case "$ALG" in
  ecdsa-p256) KEY='{"algo":"ecdsa","size":256}' ;;
  rsa-2048) KEY='{"algo":"rsa","size":2048}' ;;
  *) echo "unsupported ALG $ALG" >&2; exit 2 ;;
esac

PKI=$OUT/pki
mkdir -p "$PKI/etcd"
CONFIG=$PKI/ca-config.json
cat > "$CONFIG" <<'EOF'
{
  "signing": {
    "default": { "expiry": "8760h" },
    "profiles": {
      "ca": {
        "expiry": "87600h",
        "usages": ["digital signature", "key encipherment", "cert sign"],
        "ca_constraint": { "is_ca": true }
      },
      "server": { "expiry": "8760h", "usages": ["digital signature", "key encipherment", "server auth"] },
      "client": { "expiry": "8760h", "usages": ["digital signature", "key encipherment", "client auth"] },
      "peer": { "expiry": "8760h", "usages": ["digital signature", "key encipherment", "server auth", "client auth"] }
    }
  }
}
EOF

# csr_json CN O HOSTS_JSON_ARRAY
csr_json() {
  local names=""
  if [[ -n $2 ]]; then names=",\"names\":[{\"O\":\"$2\"}]"; fi
  echo "{\"CN\":\"$1\"$names,\"key\":$KEY,\"hosts\":$3}"
}

# make_ca BASE CN  -> BASE.pem BASE-key.pem
make_ca() {
  local base=$1 cn=$2
  echo "{\"CN\":\"$cn\",\"key\":$KEY,\"ca\":{\"expiry\":\"87600h\"}}" > "$base-csr.json"
  cfssl gencert -initca "$base-csr.json" 2>/dev/null | cfssljson -bare "$base"
  cfssl sign -ca "$base.pem" -ca-key "$base-key.pem" -config "$CONFIG" -profile ca "$base.csr" 2>/dev/null \
    | cfssljson -bare "$base"
}

# make_cert BASE CA_BASE PROFILE CN O HOSTS_JSON_ARRAY
make_cert() {
  local base=$1 ca=$2 profile=$3
  csr_json "$4" "$5" "$6" > "$base-csr.json"
  cfssl gencert -ca "$ca.pem" -ca-key "$ca-key.pem" -config "$CONFIG" -profile "$profile" "$base-csr.json" 2>/dev/null \
    | cfssljson -bare "$base"
}

# json_list a b c -> ["a","b","c"]
json_list() {
  local out="" x
  for x in "$@"; do out="$out,\"$x\""; done
  echo "[${out#,}]"
}

# --- cluster-wide: three CAs and the service-account key pair ---
make_ca "$PKI/ca" kubernetes
make_ca "$PKI/front-proxy-ca" front-proxy-ca
make_ca "$PKI/etcd/ca" etcd-ca
csr_json sa "" "[]" > "$PKI/sa-csr.json"
cfssl genkey "$PKI/sa-csr.json" 2>/dev/null | cfssljson -bare "$PKI/sa"
openssl pkey -in "$PKI/sa-key.pem" -pubout -out "$PKI/sa.pub"

# --- control-plane nodes ---
first=1
for node in $CONTROL_PLANES; do
  name=${node%%:*} addr=${node#*:}
  d=$OUT/nodes/$name/pki
  mkdir -p "$d/etcd"

  hosts=(
    "$name" kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local
    "$SERVICE_IP" "$addr"
  )
  for s in $ENDPOINT_HOST $API_CERT_SANS; do
    case " ${hosts[*]} " in *" $s "*) ;; *) hosts+=("$s") ;; esac
  done
  make_cert "$d/apiserver" "$PKI/ca" server kube-apiserver "" "$(json_list "${hosts[@]}")"
  make_cert "$d/apiserver-kubelet-client" "$PKI/ca" client kube-apiserver-kubelet-client kubeadm:cluster-admins "[]"
  make_cert "$d/front-proxy-client" "$PKI/front-proxy-ca" client front-proxy-client "" "[]"
  make_cert "$d/apiserver-etcd-client" "$PKI/etcd/ca" client kube-apiserver-etcd-client "" "[]"

  etcd_hosts=$(json_list "$name" localhost "$addr" 127.0.0.1 ::1)
  make_cert "$d/etcd/server" "$PKI/etcd/ca" peer "$name" "" "$etcd_hosts"
  make_cert "$d/etcd/peer" "$PKI/etcd/ca" peer "$name" "" "$etcd_hosts"
  make_cert "$d/etcd/healthcheck-client" "$PKI/etcd/ca" client kube-etcd-healthcheck-client "" "[]"

  # client certificates for the kubeconfigs
  make_cert "$d/admin" "$PKI/ca" client kubernetes-admin kubeadm:cluster-admins "[]"
  make_cert "$d/controller-manager" "$PKI/ca" client system:kube-controller-manager "" "[]"
  make_cert "$d/scheduler" "$PKI/ca" client system:kube-scheduler "" "[]"
  if [[ $first == 1 ]]; then
    make_cert "$d/super-admin" "$PKI/ca" client kubernetes-super-admin system:masters "[]"
    first=0
  fi
done

# --- kubelet nodes: every control plane and every worker ---
for node in $CONTROL_PLANES $WORKERS; do
  name=${node%%:*} addr=${node#*:}
  d=$OUT/nodes/$name/kubelet
  mkdir -p "$d"
  make_cert "$d/kubelet-client" "$PKI/ca" client "system:node:$name" system:nodes "[]"
  make_cert "$d/kubelet" "$PKI/ca" server "system:node:$name" system:nodes "$(json_list "$name" "$addr")"
  make_cert "$d/kube-proxy" "$PKI/ca" client system:kube-proxy "" "[]"
done
