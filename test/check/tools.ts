/**
 * Test helpers for `kpki check`: certificates made with openssl (never with kpki), the CLI run
 * with --json, and lookups in its report. Every expectation is written in the tests themselves.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

export interface Report {
  status: string;
  exitCode: number;
  plan?: string;
  kubernetesVersion?: { version: string; source: string };
  certificates: Array<{ path: string; role: string; node?: string; subject: { cn: string; o: string[] }; authority: string; serial: string; isCa: boolean }>;
  authorities: Array<{ path: string; role: string; subject: { cn: string } }>;
  findings: Array<{ code: string; severity: string; file: string; message: string; ref?: string; hint: string }>;
  codes: Record<string, { severity: string }>;
}

export function runCheck(args: readonly string[]): { status: number | null; report: Report; stdout: string; stderr: string } {
  const r = runSync(process.execPath, [CLI, 'check', ...args, '--json'], { env: { ...process.env, NO_COLOR: '1' } });
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`kpki check ${args.join(' ')} exited ${r.status}, stdout is not JSON:\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, report, stdout: r.stdout, stderr: r.stderr };
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): string {
  const r = runSync(cmd, args, { input: opts.input, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export interface LeafSpec {
  /** `/O=system:nodes/CN=system:node:worker-1` */
  subj: string;
  ca: { crt: string; key: string };
  eku?: string;
  san?: string;
  days?: number;
  /** openssl -newkey argument: `ec -pkeyopt ec_paramgen_curve:P-256` (default) or `rsa:1024` */
  key?: string[];
  digest?: string;
  serial?: string;
  /** A faketime timestamp: the certificate is made as if on that date. */
  at?: string;
  /** Extra extension lines (basicConstraints, keyUsage override). */
  ext?: string;
}

/** A scratch directory for openssl's request and extension files, removed with the test process's others. */
const scratch = () => tempDir('kpki-check-ossl-');

/** Makes a key and a CA-signed certificate with openssl; writes them to crt/key paths. */
export function opensslLeaf(spec: LeafSpec, crt: string, key: string): void {
  const dir = scratch();
  const csr = join(dir, 'req.csr');
  const ext = join(dir, 'ext.cnf');
  const newkey = spec.key ?? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  run('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', key, '-subj', spec.subj, '-out', csr]);
  writeFileSync(ext, [
    spec.ext ?? 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${spec.eku ?? 'clientAuth'}`,
    ...(spec.san ? [`subjectAltName=${spec.san}`] : []),
    'authorityKeyIdentifier=keyid',
  ].join('\n'));
  const args = ['x509', '-req', '-in', csr, '-CA', spec.ca.crt, '-CAkey', spec.ca.key, '-set_serial', spec.serial ?? `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`,
    '-days', String(spec.days ?? 365), `-${spec.digest ?? 'sha256'}`, '-extfile', ext, '-out', crt];
  if (spec.at) run('faketime', [spec.at, 'openssl', ...args]);
  else run('openssl', args);
}

/** A self-signed CA made with openssl. `ext` overrides the CA extensions (to plant a broken CA). */
export function opensslCa(cn: string, crt: string, key: string, opts: { ext?: string; subj?: string; days?: number } = {}): void {
  const dir = scratch();
  const ext = join(dir, 'ca.cnf');
  writeFileSync(ext, `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${opts.ext ?? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectKeyIdentifier=hash'}\n`);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', opts.subj ?? `/CN=${cn}`,
    '-days', String(opts.days ?? 3650), '-config', ext, '-extensions', 'v3', '-out', crt]);
}

/** A kubeconfig written by hand (kubectl's layout) around openssl-made files. */
export function kubeconfig(o: { server: string; caPem: string; certPem: string; keyPem: string; user: string; cluster?: string }): string {
  const b = (s: string) => Buffer.from(s).toString('base64');
  const cluster = o.cluster ?? 'kubernetes';
  return `apiVersion: v1
kind: Config
clusters:
- name: ${cluster}
  cluster:
    server: ${o.server}
    certificate-authority-data: ${b(o.caPem)}
contexts:
- name: ctx
  context: { cluster: ${cluster}, user: "${o.user}" }
current-context: ctx
users:
- name: "${o.user}"
  user:
    client-certificate-data: ${b(o.certPem)}
    client-key-data: ${b(o.keyPem)}
`;
}

export const read = (p: string) => readFileSync(p, 'utf8');

/** The findings with a code (and, optionally, about a file). */
export function findingsOf(r: Report, code: string, file?: string) {
  return r.findings.filter((f) => f.code === code && (file === undefined || f.file === file));
}

/** The kubeconfig kubeadm's kubelet writes after TLS bootstrap: credentials by path (the rotating `kubelet-client-current.pem`). */
export function kubeletFileKubeconfig(caPem: string, server: string, pem: string): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}
    server: ${server}
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
preferences: {}
users:
- name: default-auth
  user:
    client-certificate: ${pem}
    client-key: ${pem}
`;
}
