/**
 * The starter plan `kpki init` writes: every field, commented, with the defaults spelled out.
 * It must stay a valid plan (the tests parse it and generate from it).
 */
export const STARTER_PLAN = `# yaml-language-server: $schema=./node_modules/kpki/schema/cluster.schema.json
# A kpki cluster plan. Edit the nodes, then: kpki gen --plan cluster.yaml --out ./out
# Every field is described in \`kpki schema\`; commented lines show the defaults.
apiVersion: kpki/v1alpha1
kind: Cluster
clusterName: kubernetes

# The Kubernetes release: selects identities (admin.conf is in kubeadm:cluster-admins from 1.29,
# system:masters before) and the kubeadm configuration API. Without it, the newest rules apply.
kubernetesVersion: v1.31.2

# How the cluster is assembled:
#   binary  - you start the components yourself; gen also writes pki/rbac.yaml to apply once
#   kubeadm - every node tree also gets etc/kubernetes/kubeadm-config.yaml; run kubeadm init on the
#             init node and kubeadm join on the others (kpki join-command NODE prints the line)
deploy: kubeadm
# File names in the node trees: kubeadm (/etc/kubernetes/pki/...) or cfssl
# (/etc/kubernetes/ssl/ca.pem, /etc/etcd/ssl/server.pem, ...; binary installs only). The cfssl
# files can go to other directories: layout: { name: cfssl, kubernetesDir: /k8s/kubernetes/ssl,
# etcdDir: /k8s/etcd/ssl, kubeconfigDir: /k8s/kubernetes/cfg }
layout: kubeadm

# The load balancer or VIP in front of the API servers; optional with one control plane.
controlPlaneEndpoint: k8s-api.example.internal:6443
apiServer:
  # bindPort: 6443
  certSANs: [k8s-api.example.internal]

networking:
  serviceSubnet: 10.96.0.0/12      # "fd00:10:96::/112,10.96.0.0/16" for dual stack
  podSubnet: 10.244.0.0/16
  # dnsDomain: cluster.local

etcd:
  external: false                  # true: etcd runs on the nodes with role etcd
  # dataDir: /var/lib/etcd

# kpki install --stage (deploy: binary): what the systemd units and component configs say.
# binDir: /usr/local/bin
# kubelet: { containerRuntimeEndpoint: unix:///run/containerd/containerd.sock, cgroupDriver: systemd, clusterDNS: 10.96.0.10 }
# loadBalancer: { vip: 192.0.2.100, interface: eth0 }   # keepalived, with two or more load-balancer nodes
# extraFlags: { kube-apiserver: [--v=2] }               # --name=value; no spaces, quotes, $, %, ;

pki:
  keyAlgorithm: ecdsa-p256         # rsa-2048 | rsa-3072 | rsa-4096 | ecdsa-p256 | ecdsa-p384
  # caValidity: 87600h
  # certValidity: 8760h
  # renewBefore: 720h
  # subject: { C: US, O: Example }

# Roles: control-plane, worker, etcd (with etcd.external: true), load-balancer.
# Node names are what the kubelet registers as (the hostname by default); FQDNs are fine.
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane], init: true }
  - { name: cp-2, address: 192.0.2.12, roles: [control-plane] }
  - { name: cp-3, address: 192.0.2.13, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`;
