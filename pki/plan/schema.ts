/**
 * JSON Schema (draft-07) for cluster.yaml. It drives the structural pass of validation and
 * editor help (yaml-language-server); semantic checks (CIDRs, IPs, topology) live in rules.ts.
 * schema/cluster.schema.json is generated from this object by scripts/write-schema.mjs,
 * and a test keeps the two identical.
 */
import { CFSSL_DEFAULT_DIRS, CGROUP_DRIVERS, DEPLOYS, KEY_ALGORITHMS, LAYOUTS, MIN_KUBERNETES_MINOR, PLAN_API_VERSION, PLAN_KIND, ROLES, UNIT_COMPONENTS } from './types.js';

/** Defaults applied by the normaliser; the schema advertises the same values. */
export const PLAN_DEFAULTS = {
  clusterName: 'kubernetes',
  deploy: 'binary',
  layout: 'kubeadm',
  bindPort: 6443,
  serviceSubnet: '10.96.0.0/12',
  dnsDomain: 'cluster.local',
  etcdExternal: false,
  keyAlgorithm: 'ecdsa-p256',
  caValidity: '87600h',
  certValidity: '8760h',
  renewBefore: '720h',
  binDir: '/usr/local/bin',
  etcdDataDir: '/var/lib/etcd',
  containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
  cgroupDriver: 'systemd',
} as const;

/**
 * What a value written unquoted into a systemd unit or a config file may hold: no white space,
 * quotes, `$` or `%` (systemd expands both), `\\`, `;`, `&`, `|`, `<`, `>`, backquotes or newlines.
 */
export const UNIT_SAFE_CHARS = 'A-Za-z0-9._,:/=@+-';
/** One extra flag: `--name` or `--name=value`, value of unit-safe characters. */
export const EXTRA_FLAG_PATTERN = `^--[a-z0-9][a-z0-9-]*(=[${UNIT_SAFE_CHARS}]*)?$`;
/** `unix:///absolute/path` of a CRI socket. */
export const CRI_ENDPOINT_PATTERN = '^unix://(/(?!\\.\\.?(/|$))[A-Za-z0-9._+@-]+)+$';
/** A network interface name as Linux allows it in practice (at most 15 characters). */
export const INTERFACE_PATTERN = '^[A-Za-z0-9_.-]{1,15}$';

/** Whole numbers with units d, h, m, s or ms, or a bare 0 (see duration.ts). */
export const DURATION_PATTERN = '^(0|([0-9]+(d|h|m|s|ms))+)$';
/** RFC 1123 label. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** RFC 1123 subdomain (its 253-character limit is a separate maxLength). */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';
/** An ssh destination: a host name, an IPv4/IPv6 address or a config alias; never starting with `-` (an ssh option). */
export const SSH_HOST_PATTERN = '^[A-Za-z0-9_]([A-Za-z0-9._:%-]*[A-Za-z0-9_])?$';
/** A POSIX login name. */
export const SSH_USER_PATTERN = '^[a-z_][a-z0-9_-]*\\$?$';
/** An absolute path or one below ~/: no control characters. */
export const SSH_IDENTITY_PATTERN = '^(/|~/)[^\\u0000-\\u001f\\u007f]*$';
/** An absolute directory: `/`-separated segments of the portable file name characters (plus `+`, `@`), no `.` or `..` segment. */
export const ABSOLUTE_DIR_PATTERN = '^(/(?!\\.\\.?(/|$))[A-Za-z0-9._+@-]+)+/?$';
/** `v1.31.2`, `1.31.2`, `v1.31` or `1.31`. */
export const KUBERNETES_VERSION_PATTERN = '^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?$';

/** One directory of the cfssl layout. */
function layoutDir(title: string, holds: string, fallback: string, example: string) {
  return {
    title,
    description: `Absolute directory on the node for ${holds}. Default: ${fallback}.`,
    type: 'string',
    pattern: ABSOLUTE_DIR_PATTERN,
    default: fallback,
    examples: [example],
  } as const;
}

const DURATION_HELP = 'Duration: whole numbers with units d, h, m, s or ms (e.g. 365d, 8760h, 1h30m).';

export const planSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kpki cluster plan',
  description:
    'Describes a Kubernetes cluster (its nodes, endpoint and networks) from which kpki generates a kubeadm-compatible PKI.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'nodes'],
  properties: {
    apiVersion: {
      title: 'API version',
      description: `Version of the plan format. Must be "${PLAN_API_VERSION}".`,
      type: 'string',
      const: PLAN_API_VERSION,
      default: PLAN_API_VERSION,
    },
    kind: {
      title: 'Kind',
      description: `Kind of document. Must be "${PLAN_KIND}".`,
      type: 'string',
      const: PLAN_KIND,
      default: PLAN_KIND,
    },
    clusterName: {
      title: 'Cluster name',
      description: 'Name of the cluster, used in kubeconfig cluster and context names. No whitespace.',
      type: 'string',
      pattern: '^\\S+$',
      default: PLAN_DEFAULTS.clusterName,
    },
    kubernetesVersion: {
      title: 'Kubernetes version',
      description: `Kubernetes release the cluster runs (1.${MIN_KUBERNETES_MINOR} or later): v1.31.2, 1.31.2 or 1.31. Selects the identities (before 1.29 admin.conf and apiserver-kubelet-client are in system:masters and there is no super-admin.conf) and the kubeadm configuration API version. Quote a minor-only version ("1.30"): YAML reads 1.30 as the number 1.3. Omitted: identities of Kubernetes 1.29 and later.`,
      type: 'string',
      pattern: KUBERNETES_VERSION_PATTERN,
      examples: ['v1.31.2', '1.28'],
    },
    deploy: {
      title: 'Deployment',
      description:
        'How the cluster is assembled. binary: components run from kpki\'s files as they are. kubeadm: kubeadm init/join runs on each node, with kpki\'s certificates pre-placed and a kubeadm configuration per node.',
      type: 'string',
      enum: [...DEPLOYS],
      default: PLAN_DEFAULTS.deploy,
    },
    layout: {
      title: 'File layout',
      description:
        'File names and directories of the node trees. kubeadm: /etc/kubernetes/pki with kubeadm names. cfssl: the names of cfssl binary-install guides (/etc/kubernetes/ssl/ca.pem, /etc/etcd/ssl/server.pem, ...); binary deployments only. Either the name, or { name, kubernetesDir, etcdDir, kubeconfigDir } to put the cfssl files in other directories (e.g. /k8s/kubernetes/ssl, /k8s/etcd/ssl, /k8s/kubernetes/cfg).',
      default: PLAN_DEFAULTS.layout,
      if: { type: 'string' },
      then: { type: 'string', enum: [...LAYOUTS] },
      else: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: {
            title: 'Layout name',
            description: 'kubeadm or cfssl. Only cfssl has directories to set.',
            type: 'string',
            enum: [...LAYOUTS],
          },
          kubernetesDir: layoutDir('Kubernetes directory', 'Kubernetes certificates and keys (ca.pem, server.pem, kube-proxy.pem, kubelet.crt, ...)', CFSSL_DEFAULT_DIRS.kubernetesDir, '/k8s/kubernetes/ssl'),
          etcdDir: layoutDir('etcd directory', 'etcd certificates and keys (ca.pem, server.pem, peer.pem, apiserver-etcd-client.pem, ...); not the Kubernetes directory', CFSSL_DEFAULT_DIRS.etcdDir, '/k8s/etcd/ssl'),
          kubeconfigDir: layoutDir('kubeconfig directory', 'the <component>.kubeconfig files', CFSSL_DEFAULT_DIRS.kubeconfigDir, '/k8s/kubernetes/cfg'),
        },
      },
    },
    controlPlaneEndpoint: {
      title: 'Control-plane endpoint',
      description:
        'Stable address of the API server: host[:port], [ipv6]:port, or a bare IP or DNS name. The port defaults to apiServer.bindPort. Required with more than one control-plane node; defaults to the only control-plane node otherwise.',
      type: 'string',
      examples: ['k8s-api.example.internal:6443', '192.0.2.10:6443', '[fd00::10]:6443'],
    },
    apiServer: {
      title: 'API server',
      description: 'Settings of the kube-apiserver serving certificate.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        bindPort: {
          title: 'Bind port',
          description: 'Port the API server listens on; the default port of controlPlaneEndpoint.',
          type: 'integer',
          minimum: 1,
          maximum: 65535,
          default: PLAN_DEFAULTS.bindPort,
        },
        certSANs: {
          title: 'Extra certificate SANs',
          description:
            'Additional IP addresses and DNS names for the API server certificate (e.g. a load-balancer VIP). Wildcards like *.example.com are allowed.',
          type: 'array',
          default: [],
          items: {
            title: 'SAN',
            description: 'An IP address or DNS name.',
            type: 'string',
          },
        },
      },
    },
    networking: {
      title: 'Networking',
      description: 'Cluster networks; they determine SANs such as the first service IP.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        serviceSubnet: {
          title: 'Service subnet',
          description:
            'Service CIDR, or two comma-separated CIDRs (one IPv4, one IPv6) for dual stack. Its first address goes into the API server certificate.',
          type: 'string',
          default: PLAN_DEFAULTS.serviceSubnet,
          examples: ['10.96.0.0/12', 'fd00:10:96::/112,10.96.0.0/16'],
        },
        podSubnet: {
          title: 'Pod subnet',
          description: 'Pod CIDR, or two comma-separated CIDRs for dual stack. Optional.',
          type: 'string',
          examples: ['10.244.0.0/16', 'fd00:10:244::/56,10.244.0.0/16'],
        },
        dnsDomain: {
          title: 'DNS domain',
          description: 'Cluster DNS domain; the API server certificate gets kubernetes.default.svc.<dnsDomain>.',
          type: 'string',
          default: PLAN_DEFAULTS.dnsDomain,
        },
      },
    },
    etcd: {
      title: 'etcd',
      description: 'etcd topology.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        external: {
          title: 'External etcd',
          description:
            'true: etcd runs on dedicated nodes with the etcd role. false (stacked): etcd runs on every control-plane node.',
          type: 'boolean',
          default: PLAN_DEFAULTS.etcdExternal,
        },
        dataDir: {
          title: 'etcd data directory',
          description: `kpki install: etcd's --data-dir on every member, an absolute directory. Default: ${PLAN_DEFAULTS.etcdDataDir}.`,
          type: 'string',
          pattern: ABSOLUTE_DIR_PATTERN,
          default: PLAN_DEFAULTS.etcdDataDir,
        },
      },
    },
    binDir: {
      title: 'Binary directory',
      description: `kpki install: the absolute directory on the hosts that holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy (the units' ExecStart). Default: ${PLAN_DEFAULTS.binDir}.`,
      type: 'string',
      pattern: ABSOLUTE_DIR_PATTERN,
      default: PLAN_DEFAULTS.binDir,
    },
    kubelet: {
      title: 'kubelet',
      description: 'kpki install: settings of every kubelet (control-plane and worker nodes).',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        containerRuntimeEndpoint: {
          title: 'Container runtime endpoint',
          description: `The CRI socket, unix:///absolute/path. Default: containerd's, ${PLAN_DEFAULTS.containerRuntimeEndpoint}.`,
          type: 'string',
          pattern: CRI_ENDPOINT_PATTERN,
          default: PLAN_DEFAULTS.containerRuntimeEndpoint,
          examples: ['unix:///run/crio/crio.sock'],
        },
        cgroupDriver: {
          title: 'cgroup driver',
          description: 'The kubelet\'s cgroupDriver; must match the container runtime\'s.',
          type: 'string',
          enum: [...CGROUP_DRIVERS],
          default: PLAN_DEFAULTS.cgroupDriver,
        },
        clusterDNS: {
          title: 'Cluster DNS IP',
          description: 'The cluster DNS service IP the kubelets hand to pods; inside the service subnet. Default: the 10th address of the (first) service subnet, 10.96.0.10 for 10.96.0.0/12.',
          type: 'string',
          examples: ['10.96.0.10'],
        },
      },
    },
    loadBalancer: {
      title: 'Load balancer VIP',
      description: 'kpki install: with two or more load-balancer nodes, keepalived moves this virtual IP between them (VRRP) and HAProxy listens on it; controlPlaneEndpoint should name it.',
      type: 'object',
      additionalProperties: false,
      required: ['vip', 'interface'],
      properties: {
        vip: { title: 'Virtual IP', description: 'The IPv4 or IPv6 address keepalived holds.', type: 'string', examples: ['192.0.2.100'] },
        interface: { title: 'Interface', description: 'The network interface the VIP goes on (eth0, ens3, ...).', type: 'string', pattern: INTERFACE_PATTERN, examples: ['eth0'] },
      },
    },
    extraFlags: {
      title: 'Extra flags',
      description: 'kpki install: flags appended to a component\'s command line, each --name=value (or --name) with letters, digits and . _ , : / = @ + - only. Flags kpki sets itself cannot be repeated here.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: Object.fromEntries(
        UNIT_COMPONENTS.map((c) => [
          c,
          {
            title: `${c} flags`,
            description: `Extra flags of ${c}.`,
            type: 'array',
            items: { title: 'Flag', description: '--name=value', type: 'string', pattern: EXTRA_FLAG_PATTERN },
            examples: [['--v=2']],
          },
        ]),
      ),
    },
    pki: {
      title: 'PKI',
      description: 'Key algorithm, lifetimes and subject of the generated certificates.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        keyAlgorithm: {
          title: 'Key algorithm',
          description: 'Algorithm of every generated key.',
          type: 'string',
          enum: [...KEY_ALGORITHMS],
          default: PLAN_DEFAULTS.keyAlgorithm,
        },
        caValidity: {
          title: 'CA validity',
          description: `Lifetime of the CA certificates. ${DURATION_HELP}`,
          type: 'string',
          pattern: DURATION_PATTERN,
          default: PLAN_DEFAULTS.caValidity,
        },
        certValidity: {
          title: 'Certificate validity',
          description: `Lifetime of leaf certificates; at most caValidity. ${DURATION_HELP}`,
          type: 'string',
          pattern: DURATION_PATTERN,
          default: PLAN_DEFAULTS.certValidity,
        },
        renewBefore: {
          title: 'Renew before',
          description: `Reissue a leaf certificate when it has less than this left; less than certValidity. ${DURATION_HELP}`,
          type: 'string',
          pattern: DURATION_PATTERN,
          default: PLAN_DEFAULTS.renewBefore,
        },
        subject: {
          title: 'CA subject',
          description: 'Extra subject attributes for the CA certificates, as cfssl-style installs set them.',
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            C: { title: 'Country', description: 'Two-letter ISO 3166 country code.', type: 'string', pattern: '^[A-Z]{2}$' },
            ST: { title: 'State or province', description: 'State or province name.', type: 'string', minLength: 1, maxLength: 128 },
            L: { title: 'Locality', description: 'Locality (city) name.', type: 'string', minLength: 1, maxLength: 128 },
            O: { title: 'Organization', description: 'Organization name.', type: 'string', minLength: 1, maxLength: 64 },
            OU: { title: 'Organizational unit', description: 'Organizational unit name.', type: 'string', minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    nodes: {
      title: 'Nodes',
      description: 'Every machine of the cluster, in the order files are generated.',
      type: 'array',
      minItems: 1,
      items: {
        title: 'Node',
        description: 'One machine.',
        type: 'object',
        additionalProperties: false,
        required: ['name', 'address', 'roles'],
        properties: {
          name: {
            title: 'Name',
            description:
              'Node name as the kubelet registers it (its hostname by default): an RFC 1123 subdomain such as node1 or node1.example.com (lower-case letters, digits, - and ., at most 253 characters).',
            type: 'string',
            pattern: DNS_SUBDOMAIN_PATTERN,
            maxLength: 253,
          },
          address: {
            title: 'Address',
            description: 'IPv4 or IPv6 address of the node; written into its certificates.',
            type: 'string',
          },
          roles: {
            title: 'Roles',
            description: 'What runs on the node.',
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { title: 'Role', description: 'A node role.', type: 'string', enum: [...ROLES] },
          },
          extraSANs: {
            title: 'Extra SANs',
            description: 'Additional IP addresses and DNS names for this node\'s serving certificates.',
            type: 'array',
            default: [],
            items: { title: 'SAN', description: 'An IP address or DNS name.', type: 'string' },
          },
          init: {
            title: 'kubeadm init node',
            description:
              'Marks the node kubeadm init runs on, the only one that gets super-admin.conf. At most one node, and a control plane. Unmarked: the node that already holds super-admin.conf, else the first control plane.',
            type: 'boolean',
            default: false,
          },
          ssh: {
            title: 'SSH',
            description: 'How kpki preflight (and install) reach the node with the system ssh client; the ssh config (or --ssh-config) supplies the rest.',
            type: 'object',
            additionalProperties: false,
            properties: {
              host: {
                title: 'SSH host',
                description: 'Host name, address or ssh config alias to connect to. Omitted: the node\'s address.',
                type: 'string',
                pattern: SSH_HOST_PATTERN,
                maxLength: 253,
              },
              port: { title: 'SSH port', description: 'TCP port of sshd. Omitted: the ssh config\'s, else 22.', type: 'integer', minimum: 1, maximum: 65535 },
              user: {
                title: 'SSH user',
                description: 'Login user. Omitted: root. Another user runs every step through sudo -n (passwordless sudo).',
                type: 'string',
                pattern: SSH_USER_PATTERN,
                maxLength: 32,
              },
              identityFile: {
                title: 'SSH identity file',
                description: 'Private key file for this node (ssh -i): an absolute path or one starting with ~/. Omitted: the agent and the ssh config\'s.',
                type: 'string',
                pattern: SSH_IDENTITY_PATTERN,
                maxLength: 4096,
              },
            },
          },
        },
      },
    },
  },
} as const;

/** The ajv options the plan is validated with (compiled at build time; see scripts/compile-validator.mjs). */
export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true } as const;
