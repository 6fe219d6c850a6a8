/**
 * The command table and nothing else: flags, help, examples. Each handler is imported only
 * when its command runs. One catch at the bottom turns errors into messages and exit codes
 * (and, with --json, into a JSON error document on stdout as well).
 *
 * `main.ts` answers `--version` and `--help` without loading this module; it prints the help
 * this module renders, captured at build time (scripts/build-cli.mjs).
 */
import yargs, { type ArgumentsCamelCase, type InferredOptionTypes, type Options } from 'yargs';
import { durationFlag } from './duration.js';
import { EXIT, exitStatusFor } from './exit.js';
import { printable } from './output/escape.js';
import { closest, explainUnknown, strayFlags } from './suggest.js';
import { formatDiagnostic, KpkiError, PlanError } from '../pki/errors.js';
import { KPKI_VERSION } from '../pki/version.js';
import { writeDocument } from './output/document.js';

const version = KPKI_VERSION;

const EPILOGUE = `Exit status: 0 ok · 1 unexpected failure · 2 bad input (invalid plan, unreadable PEM,
unusable --out) and every usage error (unknown command or flag, bad flag value) · 3 refused (a CA or SA key would be overwritten, or a CA cannot sign)
· 4 the store is locked by another kpki run (gen waits --lock-timeout for it).
Docs: the README; the plan's JSON Schema: \`kpki schema\`.`;

const USAGE = `$0 <command> [options]\n\nA Kubernetes cluster PKI from one plan: CAs, every leaf certificate, kubeconfigs\nand per-node file trees in kubeadm's layout.`;

interface CommandSpec<O extends Record<string, Options>> {
  readonly name: string;
  /** One positional argument: required (`join-command <node>`) or a list (`check [paths..]`). */
  readonly positional?: { readonly name: string; readonly describe: string; readonly list?: boolean };
  readonly describe: string;
  /** Command-specific footer (check's exit statuses). */
  readonly epilogue?: string;
  readonly options: O;
  readonly examples?: ReadonlyArray<readonly [string, string]>;
  readonly run: (a: ArgumentsCamelCase<InferredOptionTypes<O>> & { readonly _positional?: string; readonly _list?: readonly string[] }) => Promise<number>;
}
/** A spec as the table holds it: typed where it is written, erased where it is registered. */
type AnyCommand = CommandSpec<Record<string, Options>>;
const command = <O extends Record<string, Options>>(c: CommandSpec<O>): AnyCommand => c as unknown as AnyCommand;

export const COMMANDS: readonly AnyCommand[] = [
  command({
    name: 'gen',
    describe: 'Generate (or bring up to date) the whole PKI for a plan',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml to read' },
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'output directory: the CA store plus nodes/<name>/ trees' },
      'dry-run': { type: 'boolean', default: false, describe: 'show what would be issued and why; write nothing' },
      prune: { type: 'boolean', default: false, describe: 'also remove the trees of nodes no longer in the plan (backed up first)' },
      wide: { type: 'boolean', default: false, describe: 'one row per certificate, even for large clusters' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store (e.g. 0, 30s, 5m; units d, h, m, s, ms)',
      },
      json: { type: 'boolean', default: false, describe: 'print the report as JSON on stdout' },
    },
    examples: [
      ['$0 init && $0 gen -p cluster.yaml', 'write a starter plan, then issue the whole PKI; re-runs change only what the plan changed'],
      ['$0 gen -p cluster.yaml -o ./out --dry-run', 'list what would change, and why'],
    ],
    run: async (a) =>
      (await import('./commands/gen.js')).gen({
        plan: a.plan, out: a.out, dryRun: a.dryRun, prune: a.prune, json: a.json, wide: a.wide, lockTimeoutMs: a.lockTimeout,
      }),
  }),
  command({
    name: 'renew',
    positional: { name: 'ids', describe: 'catalog ids of the leaves to renew (kpki catalog lists them), or all', list: true },
    describe: 'Issue certificates again before (or after) they expire, kubelet.conf and etcd included; CAs and keys of CAs untouched',
    options: {
      plan: { alias: 'p', type: 'string', requiresArg: true, describe: 'cluster.yaml: identities and SANs come from the plan and the catalog, not the old certificate (needed with --out; with --root optional)' },
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'the store kpki gen wrote (its CAs sign; node trees are updated)' },
      root: {
        type: 'string', requiresArg: true,
        describe: "instead of --out: renew in place on a host kpki did not make (kubeadm's /etc/kubernetes), signing with the CA keys found there; without --plan, SANs are copied from each old certificate and identities follow the release the tree runs",
      },
      'kubelet-dir': { type: 'string', requiresArg: true, describe: "with --root: the kubelet's certificate directory (default: /var/lib/kubelet/pki beside an …/etc/kubernetes root)" },
      node: { type: 'string', array: true, requiresArg: true, describe: 'only these nodes (repeatable)' },
      before: {
        type: 'string', requiresArg: true,
        coerce: durationFlag('before'),
        describe: 'only what expires within this (30d, 720h); without it, what you name is renewed whatever its expiry',
      },
      'reuse-keys': { type: 'boolean', default: false, describe: 'sign the existing keys again (default: new keys)' },
      'dry-run': { type: 'boolean', default: false, describe: 'show what would be renewed and restarted; write nothing' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store',
      },
      json: { type: 'boolean', default: false, describe: "print the versioned report (schema: kpki/renew-report.schema.json): gen's report plus renewed and restarts per node" },
    },
    examples: [
      ['$0 renew all -p cluster.yaml -o ./out', 'every leaf of every node, new keys; the old files go to out/backup/'],
      ['$0 renew all -p cluster.yaml -o ./out --before 30d --dry-run', 'what expires within 30 days, and what would have to restart'],
      ['$0 renew apiserver kubelet.conf -p cluster.yaml -o ./out --node cp-1', "one node's apiserver certificate and kubelet identity"],
      ['$0 renew all --root /etc/kubernetes --dry-run', 'on a kubeadm host, even with every certificate expired: what would be renewed, with which identity and SANs'],
      ['$0 renew all --root /etc/kubernetes', 'renew in place (kubelet.conf and the kubelet serving certificate too); CA files and sa.* untouched'],
    ],
    epilogue: 'After a real run, copy each nodes/<name>/ tree to its host, then restart what the report lists per node\n(etcd re-reads its own certificates on each new connection; admin.conf is handed out again).\nWith --root the host is changed in place: previous files go to <root>/backup/<stamp>/, a linked kubelet.conf gets a new\nkubelet-client-<date>.pem and kubelet-client-current.pem is moved to it, as the kubelet does. A CA without its key (an\nexternal CA) stops only its own leaves, exit 3: kpki csr and kpki import are the way for those.',
    run: async (a) =>
      (await import('./commands/renew.js')).renewCommand({
        ids: [...(a._list ?? [])], plan: a.plan, out: a.out, root: a.root, kubeletDir: a.kubeletDir, nodes: a.node?.map(String), beforeMs: a.before,
        reuseKeys: a.reuseKeys, dryRun: a.dryRun, json: a.json, lockTimeoutMs: a.lockTimeout,
      }),
  }),
  command({
    name: 'ca',
    positional: { name: 'args', describe: 'extend <ca…>: ca, front-proxy-ca, etcd-ca (several at once when several expired); rotate <ca>: the next rotation phase (trust, issue, finalize)', list: true },
    describe: "Extend a CA's NotAfter by re-signing it with its own key (same subject, key and SKI: every leaf stays valid)",
    options: {
      plan: { alias: 'p', type: 'string', requiresArg: true, describe: 'cluster.yaml (its caValidity is the default lifetime; kubeconfigs are rendered from it); needed with --out' },
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'the store kpki gen wrote' },
      root: { type: 'string', requiresArg: true, describe: "instead of --out: in place on a kubeadm host (pki/<ca>.crt and the CA data of each *.conf); default lifetime 87600h" },
      validity: { type: 'string', requiresArg: true, coerce: durationFlag('validity', { positive: true }), describe: "new lifetime from now (e.g. 87600h); default the plan's caValidity" },
      'dry-run': { type: 'boolean', default: false, describe: 'show what would be replaced; write nothing' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store',
      },
      json: { type: 'boolean', default: false, describe: "print the versioned report (schema: kpki/ca-extend-report.schema.json; rotate: kpki/rotate-report.schema.json, --status kpki/rotation-status.schema.json)" },
      status: { type: 'boolean', default: false, describe: 'rotate: print the recorded phase and what comes next; change nothing' },
      abort: { type: 'boolean', default: false, describe: 'rotate: before finalize, go back to the old CA alone' },
      'reuse-keys': { type: 'boolean', default: false, describe: "rotate, issue phase: sign each leaf's current key with the new CA instead of a new key" },
    },
    examples: [
      ['$0 ca extend ca -p cluster.yaml -o ./out', "the Kubernetes CA for another caValidity; the discovery hash stays the same"],
      ['$0 ca extend etcd-ca -p cluster.yaml -o ./out --validity 175200h --dry-run', 'what would change for 20 more years'],
      ['$0 ca extend ca --root /etc/kubernetes', "a kubeadm host's CA, in place; then kpki renew all --root /etc/kubernetes"],
    ],
    epilogue: 'The new CA certificate goes to pki/, to every node tree and into every kubeconfig; the old files go to backup/.\nThe CA key is never rewritten. An expired CA is extended the same way, then kpki gen (or renew) works again.',
    run: async (a) =>
      (await import('./commands/ca.js')).caCommand({
        args: [...(a._list ?? [])], plan: a.plan, out: a.out, root: a.root, validityMs: a.validity, dryRun: a.dryRun, json: a.json, lockTimeoutMs: a.lockTimeout,
        status: a.status, abort: a.abort, reuseKeys: a.reuseKeys,
      }),
  }),
  command({
    name: 'sa',
    positional: { name: 'args', describe: 'rotate: the next phase of a service-account key rotation (overlap, finalize)', list: true },
    describe: 'Rotate the service-account signing key: overlap (sa.pub = old + new, signing with the new key), then finalize',
    options: {
      plan: { alias: 'p', type: 'string', requiresArg: true, describe: 'cluster.yaml' },
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'the store kpki gen wrote' },
      'dry-run': { type: 'boolean', default: false, describe: 'show what would change; write nothing' },
      status: { type: 'boolean', default: false, describe: 'print the recorded phase and how long to wait before finalize; change nothing' },
      abort: { type: 'boolean', default: false, describe: 'before finalize, go back to the old key pair' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store',
      },
      json: { type: 'boolean', default: false, describe: 'print the report as JSON' },
    },
    examples: [
      ['$0 sa rotate -p cluster.yaml -o ./out', 'overlap: deploy, restart kube-apiserver and kube-controller-manager; run it again to finalize'],
      ['$0 sa rotate -o ./out --status', 'the recorded phase'],
    ],
    run: async (a) =>
      (await import('./commands/sa.js')).saCommand({
        args: [...(a._list ?? [])], plan: a.plan, out: a.out, status: a.status, abort: a.abort, dryRun: a.dryRun, json: a.json, lockTimeoutMs: a.lockTimeout,
      }),
  }),
  command({
    name: 'csr',
    describe: 'For an external CA: a key and a PKCS#10 request for every leaf of every node, to have signed elsewhere',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml: subjects, SANs and usages come from the plan and the catalog' },
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'the store: requests and keys go into its nodes/<name>/ trees (CA keys are not needed)' },
      node: { type: 'string', array: true, requiresArg: true, describe: 'only these nodes (repeatable)' },
      json: { type: 'boolean', default: false, describe: 'print the versioned report (schema: kpki/csr-report.schema.json): each request, its key file, subject, SANs, usages and CA' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store',
      },
    },
    examples: [
      ['$0 csr -p cluster.yaml -o ./out', 'apiserver.csr beside where apiserver.crt will go, admin.conf.csr beside admin.conf; keys 0600'],
      ['$0 csr -p cluster.yaml -o ./out --node worker-7', "one new node's requests"],
    ],
    epilogue: "Each request carries the subject, SANs, key usage and extended key usage the certificate must have: sign it keeping\nthose (openssl x509 -req -copy_extensions copy, openssl ca with copy_extensions, cfssl sign with a profile of those usages).\nA re-run keeps keys and requests that still fit the plan. Then: kpki import.",
    run: async (a) =>
      (await import('./commands/csr.js')).csrCommand({ plan: a.plan, out: a.out, nodes: a.node?.map(String), json: a.json, lockTimeoutMs: a.lockTimeout }),
  }),
  command({
    name: 'import',
    positional: { name: 'files', describe: 'signed certificates (PEM, or the JSON cfssl sign prints)', list: true },
    describe: "Place certificates an external CA signed for kpki csr's requests, after checking each against the plan",
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml: each certificate must carry what the plan and the catalog want' },
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'the store kpki csr wrote to; its pki/<ca>.crt must have signed each certificate' },
      json: { type: 'boolean', default: false, describe: 'print the versioned report (schema: kpki/import-report.schema.json): each certificate placed, every file written' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store',
      },
    },
    examples: [
      ['$0 import -p cluster.yaml -o ./out signed/*.crt', 'each certificate is matched to its key, checked, then placed; kubeconfigs are rendered around client certificates'],
    ],
    epilogue: 'Checked: CN and O, SANs, extended key usage, not a CA, its key, a signature by the store\'s CA certificate, valid now.\nOne certificate that fails refuses the whole import (exit 3) with every reason; nothing is written.',
    run: async (a) =>
      (await import('./commands/csr.js')).importCommand({ plan: a.plan, out: a.out, files: [...(a._list ?? [])], json: a.json, lockTimeoutMs: a.lockTimeout }),
  }),
  command({
    name: 'check',
    positional: { name: 'paths', describe: 'directories to read (/etc/kubernetes, /, a cfssl /k8s)', list: true },
    describe: 'Audit a PKI: expiry, chain, keys, identities, SANs, usages, weak crypto, kubeconfigs, hygiene',
    options: {
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'a kpki output directory (store + node trees) instead of paths' },
      plan: { alias: 'p', type: 'string', requiresArg: true, describe: 'with --out: judge every credential against this plan, as gen would; with paths: take SANs, node names and the Kubernetes version from it' },
      node: { type: 'string', requiresArg: true, describe: "with paths: the node's name (checks system:node:<name>)" },
      'kubernetes-version': { type: 'string', requiresArg: true, describe: "the cluster's release (identities changed in 1.29); default: the plan's, else found in the tree's manifests or kubeadm config" },
      ca: { type: 'string', array: true, requiresArg: true, describe: 'with paths: a CA certificate file to check chains against (repeatable; a kubeadm worker has no ca.crt of its own)' },
      wide: { type: 'boolean', default: false, describe: 'add a PATH column: the files holding each credential' },
      warn: { type: 'string', requiresArg: true, coerce: durationFlag('warn'), describe: 'warn when a certificate expires within this (default 30d; with --plan its renewBefore; units d, h, m, s, ms)' },
      crit: { type: 'string', requiresArg: true, coerce: durationFlag('crit'), describe: 'critical when it expires within this (default 7d)' },
      json: { type: 'boolean', default: false, describe: 'print the versioned report (schema: kpki/check-report.schema.json)' },
      prometheus: { type: 'boolean', default: false, describe: 'print node_exporter textfile metrics (x509-certificate-exporter names)' },
      'prometheus-file': { type: 'string', requiresArg: true, describe: 'also write those metrics to this file, atomically (0644; the exit status stays the check\'s)' },
      probe: { type: 'string', array: true, describe: 'also connect with TLS: to every server the plan implies, or to the host:port given' },
      'probe-timeout': { type: 'string', requiresArg: true, coerce: durationFlag('probe-timeout', { positive: true, timer: true }), describe: 'per-probe timeout (default 3s)' },
      cache: { type: 'boolean', default: true, describe: "with --out: judge unchanged leaves from the store's record (pki/record); --no-cache reads every file" },
      'cross-mounts': { type: 'boolean', default: false, describe: 'with paths: also read file systems mounted inside them (never /proc, /sys)' },
      remote: { type: 'boolean', default: false, describe: 'with --out and --plan: audit the files each host actually holds, read over SSH, and report every file that differs from the store' },
      hosts: { type: 'string', array: true, requiresArg: true, describe: 'with --remote: only these nodes (comma-separated or repeated)' },
      'ssh-config': { type: 'string', requiresArg: true, describe: 'with --remote: run every connection with this OpenSSH config (ssh -F)' },
      'accept-new-host-keys': { type: 'boolean', default: false, describe: 'with --remote: trust a host key seen for the first time (a changed key is still refused)' },
    },
    examples: [
      ['$0 check /etc/kubernetes', 'on a kubeadm node'],
      ['$0 check --out ./out --plan cluster.yaml', 'a kpki store against its plan'],
      ['$0 check --out ./out --plan cluster.yaml --probe', 'also ask every server the plan implies what it serves'],
      ['$0 check --out ./out --plan cluster.yaml --remote', 'the files on every host, against the store'],
      ['$0 check /etc/kubernetes --prometheus-file /var/lib/node_exporter/textfile/kpki.prom >/dev/null', 'from cron'],
    ],
    epilogue: 'Exit status (monitoring-plugin convention, for Nagios/Icinga/Sensu and cron): 0 OK · 1 WARNING · 2 CRITICAL ·\n3 UNKNOWN (any usage error, a root or plan that cannot be read).',
    run: async (a) =>
      (await import('./commands/check.js')).checkCommand({
        paths: [...(a._list ?? [])], out: a.out, plan: a.plan, node: a.node, warn: a.warn, crit: a.crit,
        json: a.json, prometheus: a.prometheus, prometheusFile: a.prometheusFile, probe: a.probe?.map(String), probeTimeout: a.probeTimeout, cache: a.cache,
        kubernetesVersion: a.kubernetesVersion, ca: a.ca?.map(String), wide: a.wide, crossMounts: a.crossMounts,
        remote: a.remote, hosts: a.hosts?.map(String), sshConfig: a.sshConfig, acceptNewHostKeys: a.acceptNewHostKeys,
      }),
  }),
  command({
    name: 'preflight',
    describe: 'Check every host over SSH before installing: unique hostnames, MACs and product_uuid, swap, modules, sysctls, ports, clock, binaries, runtime socket',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml (nodes[].ssh says how to reach each node; default root@address)' },
      hosts: { type: 'string', array: true, requiresArg: true, describe: 'only these nodes (comma-separated or repeated)' },
      'ssh-config': { type: 'string', requiresArg: true, describe: 'run every connection with this OpenSSH config (ssh -F): its known_hosts, keys, ProxyJump' },
      'accept-new-host-keys': { type: 'boolean', default: false, describe: 'trust a host key seen for the first time (StrictHostKeyChecking=accept-new); a changed key is still refused' },
      'bin-dir': { type: 'string', requiresArg: true, describe: "where the units run binaries from (default: the plan's binDir, else /usr/local/bin)" },
      parallel: { type: 'number', default: 10, requiresArg: true, describe: 'hosts checked at once' },
      json: { type: 'boolean', default: false, describe: 'print the report as JSON (schema: kpki/preflight-report.schema.json)' },
    },
    examples: [
      ['$0 preflight -p cluster.yaml', 'every node, as root over ssh'],
      ['$0 preflight -p cluster.yaml --hosts cp-1,worker-1 --ssh-config ./ssh_config --json', 'two nodes, with a config of their own'],
    ],
    epilogue: 'Exit status: 0 every host ready (warnings allowed) · 1 a check failed or a host was unreachable · 2 bad input.',
    run: async (a) =>
      (await import('./commands/preflight.js')).preflightCommand({
        plan: a.plan, hosts: a.hosts?.map(String), sshConfig: a.sshConfig, acceptNewHostKeys: a.acceptNewHostKeys,
        binDir: a.binDir, parallel: a.parallel, json: a.json,
      }),
  }),
  command({
    name: 'install',
    describe: 'Put what each host gets (node tree, systemd units, component configs, load balancer) on the hosts over SSH, into --stage, or into an Ansible hand-off',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml to read (binDir, kubelet, loadBalancer, extraFlags, ...)' },
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'the store `kpki gen` wrote for this plan (its nodes/<name>/ trees are copied as they are)' },
      stage: { type: 'string', requiresArg: true, describe: 'write <host>/… (root-relative: etc/systemd/system/etcd.service, …) and hosts.txt into this directory instead of installing over SSH' },
      ansible: { type: 'string', requiresArg: true, describe: 'write an Ansible hand-off here instead (inventory per role, the staged trees, a playbook that restarts what changed)' },
      hosts: { type: 'string', array: true, requiresArg: true, describe: 'only these hosts: plan node names, comma-separated or repeated' },
      'dry-run': { type: 'boolean', default: false, describe: 'over SSH: connect, read each host\'s files and print what would change (certificates by subject and dates); write nothing' },
      parallel: { type: 'number', default: 10, requiresArg: true, describe: 'over SSH: hosts at once' },
      start: { type: 'boolean', default: true, describe: 'over SSH: --no-start places files only (no daemon-reload, enable or restart)' },
      binaries: { type: 'string', requiresArg: true, describe: 'over SSH: a directory holding etcd, etcdctl, kube-apiserver, … : each host gets the ones its units start in binDir (0755), skipped where the SHA-256 matches; kpki downloads nothing' },
      'ssh-config': { type: 'string', requiresArg: true, describe: 'over SSH: run every connection with this OpenSSH config (ssh -F): its known_hosts, keys, ProxyJump' },
      'accept-new-host-keys': { type: 'boolean', default: false, describe: 'over SSH: trust a host key seen for the first time (StrictHostKeyChecking=accept-new); a changed key is still refused' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: durationFlag('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store',
      },
      json: { type: 'boolean', default: false, describe: 'print the report as JSON (schema: kpki/install-report.schema.json with --stage, kpki/install-hosts-report.schema.json over SSH)' },
    },
    examples: [
      ['$0 install -p cluster.yaml -o out --dry-run', 'connect to every node and show per host what would be added or changed'],
      ['$0 install -p cluster.yaml -o out --binaries ./bin', 'put the files and the binaries on every node, reload systemd, start what changed'],
      ['$0 install -p cluster.yaml -o out --hosts worker-7 --ssh-config ./ssh_config', 'one node, with an OpenSSH config of its own (bastion, keys, known_hosts)'],
      ['$0 install -p cluster.yaml -o out --ansible ./playbook', 'the same files as inventory + playbook for Ansible/AWX'],
      ['$0 gen -p cluster.yaml -o out && $0 install -p cluster.yaml -o out --stage staged', 'every host\'s tree in staged/<host>/; staged/hosts.txt lists "name address"'],
      ['$0 install -p cluster.yaml --stage staged --hosts cp-1,worker-1', 'only those two hosts'],
      ["tar -C staged/cp-1 -cf - . | ssh root@cp-1 'tar -C / --no-overwrite-dir -xpf - && systemctl daemon-reload'", 'by hand: copy a tree to its host, leaving existing directories as they are (kpki install without --stage does this)'],
    ],
    epilogue: 'Each host gets: its node tree from gen (same paths and modes); a systemd unit per component of its roles (etcd,\nkube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy) whose PKI flags come from the catalog;\nthe kubelet\'s and kube-proxy\'s config files; modules-load.d and sysctl.d for pod networking; on the init node\nkpki-rbac.service, which applies pki/rbac.yaml once the API server answers; on load-balancer nodes HAProxy (and\nkeepalived with a loadBalancer VIP and two or more of them). deploy: kubeadm stages only the PKI, the kubeadm\nconfigurations and the load balancer: kubeadm runs the components. A re-run with the same inputs changes nothing;\nreplaced files are backed up in <stage>/backup/<stamp>/.\n\nOver SSH (no --stage): the system ssh client, one ControlMaster connection per node (nodes[].ssh: host, port, user,\nidentityFile; sudo -n when not root), strict host key checking. Files land atomically, owner root, with their modes;\nreplaced ones are kept in /var/backups/kpki/<stamp>/ on the host; keys travel over ssh\'s stdin only. Then\nsystemctl daemon-reload (a unit file changed), enable (its unit file is new or changed) and restart --no-block of\nonly the units whose files changed (a unit file, a file it names, or one the catalog says its component reads).\nkpki-rbac.service on the init node applies pki/rbac.yaml once the first API server answers (kubectl apply with the\nbreak-glass credential, retried every 10 s: idempotent). A re-run with nothing to change restarts nothing.\nExit status: 0 every host done · 1 a host failed or was unreachable (the others complete) · 2 bad input.',
    run: async (a) => {
      const hosts = a.hosts?.flatMap((h) => String(h).split(',')).map((h) => h.trim()).filter((h) => h !== '');
      const m = await import('./commands/install.js');
      if (a.stage !== undefined) {
        if (a.ansible !== undefined) throw new KpkiError('ERR_USAGE', '--stage and --ansible each write a directory; give one of them');
        return m.installCommand({ plan: a.plan, out: a.out, stage: a.stage, hosts, json: a.json, lockTimeoutMs: a.lockTimeout });
      }
      return m.installSshCommand({
        plan: a.plan, out: a.out, hosts, dryRun: a.dryRun, parallel: a.parallel, start: a.start, binaries: a.binaries, sshConfig: a.sshConfig,
        acceptNewHostKeys: a.acceptNewHostKeys, ansible: a.ansible, json: a.json, lockTimeoutMs: a.lockTimeout,
      });
    },
  }),
  command({
    name: 'init',
    describe: 'Write a commented starter plan (cluster.yaml) to edit',
    options: {
      out: { alias: 'o', type: 'string', default: 'cluster.yaml', requiresArg: true, describe: 'file to write (never overwritten)' },
      stdout: { type: 'boolean', default: false, describe: 'print the plan instead of writing a file' },
    },
    run: async (a) => (await import('./commands/init.js')).init({ out: a.out, stdout: a.stdout }),
  }),
  command({
    name: 'join-command',
    positional: { name: 'node', describe: 'node name from the plan' },
    describe: 'Print the kubeadm join line for a node of a deploy: kubeadm plan (token included)',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml (deploy: kubeadm)' },
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'output directory of `kpki gen` (reads pki/ca.crt, pki/join.json)' },
    },
    examples: [['$0 join-command cp-2 -p cluster.yaml', 'kubeadm join <endpoint> --token … --discovery-token-ca-cert-hash sha256:… --control-plane …']],
    run: async (a) => (await import('./commands/join.js')).joinCommandLine({ node: a._positional!, plan: a.plan, out: a.out }),
  }),
  command({
    name: 'ca-hash',
    describe: 'Print the discovery hash of the Kubernetes CA (for kubeadm join --discovery-token-ca-cert-hash)',
    options: {
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'output directory of `kpki gen` (reads pki/ca.crt)' },
      cert: { type: 'string', requiresArg: true, describe: 'a CA certificate file instead' },
      json: { type: 'boolean', default: false },
    },
    run: async (a) => (await import('./commands/join.js')).caHash({ out: a.out, cert: a.cert, json: a.json }),
  }),
  command({
    name: 'token',
    describe: 'Print a new bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}) for kubeadm join',
    options: { json: { type: 'boolean', default: false } },
    run: async (a) => (await import('./commands/join.js')).token({ json: a.json }),
  }),
  command({
    name: 'certificate-key',
    describe: 'Print a new certificate key (64 hex characters) for kubeadm --upload-certs',
    options: { json: { type: 'boolean', default: false } },
    run: async (a) => (await import('./commands/join.js')).certKey({ json: a.json }),
  }),
  command({
    name: 'catalog',
    describe: 'List every kind of credential kpki issues, who signs it and which nodes get it',
    options: { json: { type: 'boolean', default: false } },
    run: async (a) => (await import('./commands/catalog.js')).catalog({ json: a.json }),
  }),
  command({
    name: 'schema',
    describe: 'Print the JSON Schema of cluster.yaml (for editors and validators)',
    options: {},
    run: async () => (await import('./commands/catalog.js')).schema(),
  }),
];

/** Long flags a command accepts (for "did you mean"); the top level has only help and version. */
function flagsOf(name: string | undefined): string[] {
  return knownFlags(name).filter((f) => f.length > 1);
}

/** Every flag name a command accepts, one-letter aliases included. */
function knownFlags(name: string | undefined): string[] {
  const c = COMMANDS.find((x) => x.name === name);
  const own = c ? Object.entries(c.options).flatMap(([k, o]) => [k, ...[o.alias ?? []].flat()]) : [];
  return [...own, 'help', 'version'];
}

const SHAPE = { commands: COMMANDS.map((c) => c.name), flagsOf };

/** The command a command line runs: its first word, when that names one (yargs reads it there). */
function commandOf(argv: readonly string[]): string | undefined {
  const word = argv.find((t) => !t.startsWith('-'));
  return word !== undefined && SHAPE.commands.includes(word) ? word : undefined;
}

/**
 * One message for a command line yargs refused, the likeliest mistake first: a mistyped command
 * (its flags are judged once it is named right), then mistyped flags (`gen --paln x` is missing
 * --plan only because of the typo), then whatever yargs said.
 */
function usageMessage(msg: string, argv: readonly string[]): string {
  const command = commandOf(argv);
  const word = argv[0];
  if (command === undefined && word !== undefined && !word.startsWith('-')) {
    const guess = closest(word, SHAPE.commands);
    return `Unknown argument: ${word}.${guess ? ` Did you mean ${guess}?` : ''}`;
  }
  const stray = strayFlags(argv, command === undefined ? SHAPE.commands.flatMap(knownFlags) : knownFlags(command));
  if (stray.length) return explainUnknown(`Unknown arguments: ${stray.join(', ')}`, argv, SHAPE)!;
  return explainUnknown(msg, argv, SHAPE) ?? msg;
}

async function parse(argv: readonly string[]): Promise<number> {
  let status: number = EXIT.ok;
  let y = yargs([...argv])
    .scriptName('kpki')
    .locale('en') // messages and help in one language: the fast-path help is captured from this
    .version(version)
    .usage(USAGE);
  for (const c of COMMANDS) {
    const p = c.positional;
    y = y.command(
      p ? (p.list ? `${c.name} [${p.name}..]` : `${c.name} <${p.name}>`) : c.name,
      c.describe,
      (b) => {
        const withPositional = p ? b.positional(p.name, { type: 'string', describe: p.describe, ...(p.list ? { array: true, default: [] } : {}) }) : b;
        const withExamples = (c.examples ?? []).reduce((acc, [cmd, what]) => acc.example(cmd, what), withPositional.options(c.options));
        return c.epilogue ? withExamples.epilogue(c.epilogue) : withExamples;
      },
      async (a) => {
        const value = p ? a[p.name] : undefined;
        status = await c.run(p ? { ...a, ...(p.list ? { _list: ([] as unknown[]).concat(value ?? []).map(String) } : { _positional: String(value) }) } : a);
      },
    );
  }
  await y
    .demandCommand(1, 'Name a command; `kpki --help` lists them.')
    .strict()
    .epilogue(EPILOGUE)
    .wrap(null) // cliui hard-wraps mid-word; let the terminal wrap instead
    .fail((msg, err) => {
      // yargs' own errors (a flag without its value, a failed coerce) are usage errors too.
      if (err && err.name !== 'YError') throw err;
      throw new KpkiError('ERR_USAGE', usageMessage(err?.message ?? msg, argv));
    })
    .parseAsync();
  return status;
}

/** `--json` anywhere on the command line: errors are then also a JSON document on stdout. */
const wantsJson = (argv: readonly string[]) => argv.some((t) => t === '--json' || t === '--json=true');

/** The message for people: each plan diagnostic on its line; control characters escaped. */
function humanText(err: unknown): string {
  if (err instanceof PlanError) return err.diagnostics.map((d) => printable(formatDiagnostic(d))).join('\n');
  // Our own errors are complete sentences; anything else is a bug or an OS error: show where.
  const text = err instanceof KpkiError ? err.message : (err as Error)?.stack ?? (err as Error)?.message ?? String(err);
  return printable(text, { lines: true });
}

function report(err: unknown, argv: readonly string[]): number {
  const command = commandOf(argv);
  const status = exitStatusFor(err, command);
  const ours = err instanceof KpkiError;
  const text = humanText(err);
  process.stderr.write(`kpki: ${text}\n${ours && err.code === 'ERR_USAGE' ? 'Run `kpki --help` for usage.\n' : ''}`);
  if (wantsJson(argv)) {
    const error = {
      code: ours ? err.code : 'ERR_INTERNAL',
      message: ours ? err.message : (err as Error)?.message ?? String(err),
      exitCode: status,
      // A bad plan: every problem with its place, as the plan reader located it.
      ...(err instanceof PlanError ? { diagnostics: err.diagnostics.map(({ file, line, column, field, message }) => ({ file, line, column, field, message })) } : {}),
    };
    writeDocument('Error', { error });
  } else if (command === 'check') {
    // A monitoring plugin's first line of output is its status.
    process.stdout.write(`PKI UNKNOWN: ${text}\n`);
  }
  return status;
}

/** Runs one command line to completion and sets the process's exit status. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await parse(argv);
  } catch (err) {
    process.exitCode = report(err, argv);
  }
}
