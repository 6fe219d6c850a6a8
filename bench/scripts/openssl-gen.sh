#!/usr/bin/env bash
# Kubernetes (kubeadm-layout) cluster PKI with the plain openssl CLI, the way people write it by hand:
# one genpkey + req + x509 per certificate, an extfile per certificate, strictly sequential.
#
#   openssl-gen.sh SPEC OUTDIR
#
# SPEC is a sourced shell file (see ha.env): ALG, ENDPOINT_HOST, API_CERT_SANS, SERVICE_IP,
# CONTROL_PLANES and WORKERS ("name:address ..."). Output:
#   OUTDIR/pki/{ca,front-proxy-ca,etcd/ca}.{crt,key}, OUTDIR/pki/sa.{key,pub}
#   OUTDIR/nodes/<name>/pki/*.{crt,key}   (control-plane certs, etcd/*, kubeconfig client certs)
#   OUTDIR/nodes/<name>/kubelet/*.{crt,key}
set -euo pipefail

SPEC=$1
OUT=$2
# shellcheck source=/dev/null
source "$SPEC"
: "${ALG:?}" "${CONTROL_PLANES:?}" "${WORKERS=}" "${ENDPOINT_HOST=}" "${API_CERT_SANS=}" "${SERVICE_IP:=10.96.0.1}"

CA_DAYS=3650
CERT_DAYS=365

genkey() { # genkey KEYFILE
  case "$ALG" in
    ecdsa-p256) openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    rsa-2048) openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
    *) echo "unsupported ALG $ALG" >&2; exit 2 ;;
  esac
}

is_ip() { [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $1 == *:* ]]; }

# make_ca BASE CN  -> BASE.crt BASE.key, self-signed
make_ca() {
  local base=$1 cn=$2
  genkey "$base.key"
  cat > "$base.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = $cn
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -new -key "$base.key" -config "$base.cnf" -days "$CA_DAYS" -sha256 -out "$base.crt"
}

# make_cert BASE CA_BASE SUBJ EKU [SAN]  -> BASE.crt BASE.key signed by CA_BASE
make_cert() {
  local base=$1 ca=$2 subj=$3 eku=$4 san=${5:-}
  genkey "$base.key"
  openssl req -new -key "$base.key" -subj "$subj" -out "$base.csr"
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    echo "extendedKeyUsage = $eku"
    echo "authorityKeyIdentifier = keyid"
    if [[ -n $san ]]; then echo "subjectAltName = $san"; fi
  } > "$base.ext"
  openssl x509 -req -in "$base.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -days "$CERT_DAYS" -sha256 -extfile "$base.ext" -out "$base.crt" 2>/dev/null
}

PKI=$OUT/pki
mkdir -p "$PKI/etcd"

# --- cluster-wide: three CAs and the service-account key pair ---
make_ca "$PKI/ca" kubernetes
make_ca "$PKI/front-proxy-ca" front-proxy-ca
make_ca "$PKI/etcd/ca" etcd-ca
genkey "$PKI/sa.key"
openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"

# extra apiserver SANs: the endpoint host and the certSANs, split into DNS and IP
EXTRA_SANS=""
for s in $ENDPOINT_HOST $API_CERT_SANS; do
  if is_ip "$s"; then entry="IP:$s"; else entry="DNS:$s"; fi
  case ",$EXTRA_SANS," in *",$entry,"*) ;; *) EXTRA_SANS="$EXTRA_SANS,$entry" ;; esac
done

# --- control-plane nodes ---
first=1
for node in $CONTROL_PLANES; do
  name=${node%%:*} addr=${node#*:}
  d=$OUT/nodes/$name/pki
  mkdir -p "$d/etcd"

  san="DNS:$name,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  san="$san,DNS:kubernetes.default.svc.cluster.local,IP:$SERVICE_IP,IP:$addr"
  for e in ${EXTRA_SANS//,/ }; do
    case ",$san," in *",$e,"*) ;; *) san="$san,$e" ;; esac
  done
  make_cert "$d/apiserver" "$PKI/ca" "/CN=kube-apiserver" serverAuth "$san"
  make_cert "$d/apiserver-kubelet-client" "$PKI/ca" "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" clientAuth
  make_cert "$d/front-proxy-client" "$PKI/front-proxy-ca" "/CN=front-proxy-client" clientAuth
  make_cert "$d/apiserver-etcd-client" "$PKI/etcd/ca" "/CN=kube-apiserver-etcd-client" clientAuth

  etcd_san="DNS:$name,DNS:localhost,IP:$addr,IP:127.0.0.1,IP:::1"
  make_cert "$d/etcd/server" "$PKI/etcd/ca" "/CN=$name" "serverAuth, clientAuth" "$etcd_san"
  make_cert "$d/etcd/peer" "$PKI/etcd/ca" "/CN=$name" "serverAuth, clientAuth" "$etcd_san"
  make_cert "$d/etcd/healthcheck-client" "$PKI/etcd/ca" "/CN=kube-etcd-healthcheck-client" clientAuth

  # client certificates for the kubeconfigs
  make_cert "$d/admin" "$PKI/ca" "/O=kubeadm:cluster-admins/CN=kubernetes-admin" clientAuth
  make_cert "$d/controller-manager" "$PKI/ca" "/CN=system:kube-controller-manager" clientAuth
  make_cert "$d/scheduler" "$PKI/ca" "/CN=system:kube-scheduler" clientAuth
  if [[ $first == 1 ]]; then
    make_cert "$d/super-admin" "$PKI/ca" "/O=system:masters/CN=kubernetes-super-admin" clientAuth
    first=0
  fi
done

# --- kubelet nodes: every control plane and every worker ---
for node in $CONTROL_PLANES $WORKERS; do
  name=${node%%:*} addr=${node#*:}
  d=$OUT/nodes/$name/kubelet
  mkdir -p "$d"
  make_cert "$d/kubelet-client" "$PKI/ca" "/O=system:nodes/CN=system:node:$name" clientAuth
  make_cert "$d/kubelet" "$PKI/ca" "/O=system:nodes/CN=system:node:$name" serverAuth "DNS:$name,IP:$addr"
  make_cert "$d/kube-proxy" "$PKI/ca" "/CN=system:kube-proxy" clientAuth
done
