/**
 * `kpki install` over SSH, the CLI end to end, on a test bed of three control planes, two
 * workers and a load balancer (network, mount and UTS namespaces with Debian's sshd; see
 * test/support/testbed.ts). The bed runs no systemd: a stand-in `systemctl` in each host's
 * /usr/local/bin logs its calls to /run/systemctl.log. Checked:
 *  - --dry-run on fresh hosts reports what would be added and changes nothing (every host's
 *    private /etc, /var/lib, /var/backups and /usr/local/bin hash the same before and after);
 *  - the install puts exactly each host's staged files (`install --stage` of the same plan and
 *    store) with their modes, owner root; a worker holds no CA key; binaries from --binaries
 *    (stand-in scripts, the real etcd and etcdctl) land 0755 in binDir, only those the host's
 *    units start; systemd is reloaded, the units enabled and started (kpki-rbac on the init
 *    node only); no key line in `ps` output during the run;
 *  - the real etcd, started in each control plane's namespaces from the installed unit's
 *    ExecStart and Environment, forms a healthy three-member cluster across the bed addresses;
 *  - the real HAProxy, started on lb-1 from the installed haproxy.cfg, health-checks a TLS
 *    stand-in for each control plane's apiserver (its installed serving pair and client CA, on
 *    the unit's address and port) with verification, and kubectl on cp-1 with the installed
 *    admin.conf reaches them through it as kubernetes-admin;
 *  - a second run changes nothing and calls systemctl for nothing; --no-start places files
 *    only; a hand-edited kubeconfig is restored and restarts only the component reading it;
 *  - a changed host key is refused, naming the new fingerprint, while the others succeed; an
 *    unreachable host is reported while the others complete;
 *  - `--ansible`: ansible-playbook --check sees no change after kpki install; the playbook
 *    restores a removed file and restarts only the unit that reads it, as kpki would.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { CLI, listFiles, kpki, ROOT, tempDir, writePlan } from '../support/cli.js';
import { STAND_IN_JS } from '../support/apiserver-stand-in.js';
import { run, type BoundedChild } from '../support/proc.js';
import { execStartArgv, flagValue, parseUnit, unitEnvironment } from '../support/systemd-unit.js';
import { bedTest, bedUnavailable, startTestBed, type TestBed } from '../support/testbed.js';

const Ajv = AjvModule.default;
const t = suite('kpki install over SSH on the test bed');
const unavailable = bedUnavailable();
const CPS = ['cp-1', 'cp-2', 'cp-3'];
const NAMES = [...CPS, 'w-1', 'w-2', 'lb-1'];
let bed: TestBed;
let work = '';
let planFile = '';
let out = '';
let stage = '';
let bins = '';
/** Processes started in the bed's hosts (etcd, the apiserver stand-ins, HAProxy). */
const servers: BoundedChild[] = [];

interface HostReport {
  node: string; host: string; status: string; error?: string;
  counts: { added: number; changed: number; mode: number; unchanged: number };
  files: Array<{ path: string; action: string; certificate?: { subject: string } }>;
  binaries?: Array<{ name: string; action: string }>;
  restarted?: string[]; enabled?: string[]; daemonReload?: boolean;
}
interface Report { kind: string; dryRun: boolean; exitCode: number; hosts: HostReport[] }

const validate = new Ajv({ allErrors: true, strict: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } })
  .compile(JSON.parse(readFileSync(join(ROOT, 'schema/install-hosts-report.schema.json'), 'utf8')) as object);

async function inHost(name: string, script: string): Promise<string> {
  const r = await bed.exec(name, ['sh', '-c', script]);
  if (r.status !== 0) throw new Error(`${name}: ${script}: ${r.stderr}`);
  return r.stdout;
}

const installArgs = (...extra: string[]) => ['install', '-p', planFile, '-o', out, '--ssh-config', bed.sshConfig, '--json', ...extra];

function parse(stdout: string, stderr: string): Report {
  let r: Report;
  try {
    r = JSON.parse(stdout) as Report;
  } catch {
    throw new Error(`not JSON: ${stdout}\n${stderr}`);
  }
  assert.ok(validate(r), JSON.stringify(validate.errors));
  assert.is(r.kind, 'InstallHostsReport');
  return r;
}
const hostOf = (r: Report, n: string) => r.hosts.find((h) => h.node === n)!;

/** Every file (path, mode, owner, SHA-256) in a host's private directories, as this machine sees them. */
async function treeHash(name: string): Promise<string> {
  const d = bed.host(name).dir;
  const r = await run('sh', ['-c', `cd ${d} && find etc-upper varlib bin backups -printf '%p %m %U %s\\n' | sort && find etc-upper varlib bin backups -type f -exec sha256sum {} + | sort`]);
  return r.stdout;
}

/** `mode uid:gid sha256` of each of the given root-relative files on a host ('' when missing). */
async function remoteFiles(name: string, paths: readonly string[]): Promise<Map<string, string>> {
  const outp = await inHost(name, `for p in ${paths.map((p) => `'/${p}'`).join(' ')}; do if [ -f "$p" ]; then printf '%s %s\\n' "$(stat -c '%a %u:%g' "$p")" "$(sha256sum < "$p" | cut -c1-64)"; else echo; fi; done`);
  const lines = outp.split('\n');
  return new Map(paths.map((p, i) => [p, lines[i] ?? '']));
}

const sha256 = async (file: string) => (await run('sha256sum', [file])).stdout.split(' ')[0]!;

t.before(async () => {
  if (unavailable) return;
  bed = await startTestBed(NAMES.map((name) => ({ name })));
  for (const h of bed.hosts) {
    await inHost(h.name, `printf '%s\\n' '#!/bin/sh' 'echo "$*" >> /run/systemctl.log' > /usr/local/bin/systemctl && chmod 755 /usr/local/bin/systemctl && : > /run/systemctl.log`);
  }
  work = tempDir('kpki-install-ssh-');
  const a = (n: string) => bed.host(n).address;
  planFile = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.31.2
controlPlaneEndpoint: ${a('lb-1')}:6443
nodes:
${CPS.map((n) => `  - { name: ${n}, address: ${a(n)}, roles: [control-plane] }`).join('\n')}
  - { name: w-1, address: ${a('w-1')}, roles: [worker] }
  - { name: w-2, address: ${a('w-2')}, roles: [worker] }
  - { name: lb-1, address: ${a('lb-1')}, roles: [load-balancer] }
`, work);
  out = join(work, 'out');
  stage = join(work, 'staged');
  const g = kpki(['gen', '-p', planFile, '-o', out]);
  assert.is(g.status, 0, g.stderr);
  const s = kpki(['install', '-p', planFile, '-o', out, '--stage', stage]);
  assert.is(s.status, 0, s.stderr);
  // Stand-in executables, and the real etcd and etcdctl.
  bins = join(work, 'bin');
  mkdirSync(bins);
  for (const b of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl']) {
    writeFileSync(join(bins, b), `#!/bin/sh\necho ${b} stand-in\n`);
    chmodSync(join(bins, b), 0o755);
  }
  copyFileSync('/usr/bin/etcd', join(bins, 'etcd'));
  copyFileSync('/usr/bin/etcdctl', join(bins, 'etcdctl'));
  writeFileSync(join(bins, 'unrelated-tool'), '#!/bin/sh\n');
});

t.after(() => {
  for (const c of servers) c.kill('SIGKILL');
  bed?.teardown();
});

const maybe = bedTest(t, unavailable);

maybe('--dry-run on fresh hosts: every staged file would be added, certificates by subject; nothing changes on any host', async () => {
  const before = await Promise.all(NAMES.map(treeHash));
  const r = await run('node', [CLI, ...installArgs('--dry-run', '--binaries', bins)]);
  assert.is(r.status, 0, r.stderr);
  const report = parse(r.stdout, r.stderr);
  assert.ok(report.dryRun);
  for (const n of NAMES) {
    const h = hostOf(report, n);
    const staged = listFiles(join(stage, n));
    assert.is(h.status, 'changed', n);
    // lb-1: the machine's haproxy package left an haproxy.cfg in the /etc the bed's hosts share.
    const existing = n === 'lb-1' ? ['etc/haproxy/haproxy.cfg'] : [];
    assert.equal(h.files.filter((f) => f.action === 'changed').map((f) => f.path), existing, n);
    assert.is(h.counts.added, staged.length - existing.length, n);
    assert.equal(h.files.map((f) => f.path).sort(), [...staged].sort(), n);
  }
  const crt = hostOf(report, 'cp-1').files.find((f) => f.path === 'etc/kubernetes/pki/apiserver.crt')!;
  assert.match(crt.certificate!.subject, /CN=kube-apiserver/);
  assert.equal(hostOf(report, 'w-1').binaries, [{ name: 'kube-proxy', action: 'added' }, { name: 'kubelet', action: 'added' }]);
  // No key material in the report.
  assert.not.match(r.stdout, /PRIVATE KEY/);
  const human = await run('node', [CLI, ...installArgs('--dry-run').filter((a) => a !== '--json')]);
  assert.is(human.status, 0, human.stderr);
  assert.match(human.stdout, /added\s+\/etc\/kubernetes\/pki\/apiserver\.crt \(CN=kube-apiserver/);
  assert.match(human.stdout, /Dry run: 6 of 6 hosts would change; nothing was written/);
  assert.not.match(human.stdout, /PRIVATE KEY/);
  const after = await Promise.all(NAMES.map(treeHash));
  for (const [i, n] of NAMES.entries()) assert.ok(before[i] === after[i], `${n}'s tree changed in a dry run`);
  for (const n of NAMES) assert.is((await inHost(n, 'cat /run/systemctl.log')).trim(), '', `${n}: systemctl called in a dry run`);
});

maybe('install: exactly the staged files with modes and owner root, binaries 0755, units reloaded, enabled and started; no key in ps output', async () => {
  const keyLines = listFiles(out).filter((p) => p.endsWith('.key')).map((p) => readFileSync(join(out, p), 'utf8').split('\n')[1]!).filter(Boolean);
  assert.ok(keyLines.length > 5);
  let done = false;
  const running = run('node', [CLI, ...installArgs('--binaries', bins)], { boundMs: 120_000 }).finally(() => (done = true));
  const samples: string[] = [];
  for (let i = 0; i < 400 && !done; i++) {
    samples.push((await run('ps', ['axeww', '-o', 'args'])).stdout);
    samples.push((await bed.exec('cp-1', ['ps', 'axeww', '-o', 'args'])).stdout);
  }
  const r = await running;
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.ok(samples.some((s) => /ControlMaster=yes/.test(s)), 'no sample saw kpki\'s ssh');
  for (const s of samples) for (const line of keyLines) assert.not.ok(s.includes(line), 'a key line in ps output');
  for (const h of bed.hosts) for (const line of keyLines) assert.not.ok(readFileSync(h.log, 'utf8').includes(line), `a key line in ${h.name}'s sshd log`);
  const report = parse(r.stdout, r.stderr);
  assert.equal(report.hosts.map((h) => h.status), NAMES.map(() => 'changed'));

  for (const n of NAMES) {
    const staged = listFiles(join(stage, n));
    const remote = await remoteFiles(n, staged);
    for (const p of staged) {
      const local = join(stage, n, p);
      assert.is(remote.get(p), `${(statSync(local).mode & 0o7777).toString(8)} 0:0 ${await sha256(local)}`, `${n}: /${p}`);
    }
    // Nothing else in the trees kpki owns.
    const owned = (await inHost(n, 'find /etc/kubernetes /var/lib/kubelet /var/lib/kube-proxy -type f 2>/dev/null; true')).trim().split('\n').filter(Boolean).map((p) => p.slice(1)).sort();
    assert.equal(owned, staged.filter((p) => /^(etc\/kubernetes|var\/lib\/kubelet|var\/lib\/kube-proxy)\//.test(p)).sort(), n);
  }
  // A worker holds no CA key (nor any CA's private key).
  for (const w of ['w-1', 'w-2']) assert.is((await inHost(w, 'find /etc/kubernetes /var/lib -name "*ca.key" | wc -l')).trim(), '0', w);
  assert.ok((await inHost('cp-1', 'ls /etc/kubernetes/pki')).includes('ca.key'));

  // Binaries: what the units start (etcdctl beside etcd, kubectl on control planes), 0755 root.
  const binsOn = async (n: string) => (await inHost(n, 'cd /usr/local/bin && for f in *; do [ "$f" = systemctl ] || printf "%s %s %s\\n" "$f" "$(stat -c "%a %u" "$f")" "$(sha256sum < "$f" | cut -c1-64)"; done')).trim().split('\n').filter(Boolean).sort();
  const want = async (names: string[]) => (await Promise.all(names.map(async (b) => `${b} 755 0 ${await sha256(join(bins, b))}`))).sort();
  assert.equal(await binsOn('cp-1'), await want(['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubectl', 'kubelet']));
  assert.equal(await binsOn('w-1'), await want(['kube-proxy', 'kubelet']));
  assert.equal(await binsOn('lb-1'), [''].filter(Boolean));
  assert.is((await binsOn('cp-2')).find((l) => l.startsWith('etcd '))!.split(' ')[3], await sha256('/usr/bin/etcd'));

  // systemd: reload, enable, start (kpki-rbac on the init node only; haproxy on the load balancer).
  const log = async (n: string) => (await inHost(n, 'cat /run/systemctl.log')).trim().split('\n');
  const cp = 'etcd.service kube-apiserver.service kube-controller-manager.service kube-scheduler.service kubelet.service kube-proxy.service';
  const cp1 = await log('cp-1');
  assert.equal(cp1, ['daemon-reload', `enable ${cp} kpki-rbac.service`, `restart --no-block ${cp} kpki-rbac.service`]);
  assert.equal(await log('cp-2'), ['daemon-reload', `enable ${cp}`, `restart --no-block ${cp}`]);
  assert.equal(await log('w-1'), ['daemon-reload', 'enable kubelet.service kube-proxy.service', 'restart --no-block kubelet.service kube-proxy.service']);
  assert.equal(await log('lb-1'), ['enable haproxy.service', 'restart --no-block haproxy.service']);
  // The RBAC unit applies pki/rbac.yaml with the break-glass credential.
  const rbac = parseUnit(await inHost('cp-1', 'cat /etc/systemd/system/kpki-rbac.service'));
  assert.equal(execStartArgv(rbac).slice(-2), ['apply', '--filename=/etc/kubernetes/kpki/rbac.yaml']);
  assert.is(await inHost('cp-1', 'cat /etc/kubernetes/kpki/rbac.yaml'), readFileSync(join(out, 'pki/rbac.yaml'), 'utf8'));
});

maybe('the real etcd, started on each control plane from the installed unit, forms a healthy three-member cluster', async () => {
  for (const n of CPS) {
    const unit = parseUnit(await inHost(n, 'cat /etc/systemd/system/etcd.service'));
    const argv = execStartArgv(unit);
    assert.is(argv[0], '/usr/local/bin/etcd');
    const env = Object.entries(unitEnvironment(unit)).map(([k, v]) => `${k}=${v}`);
    servers.push(bed.startIn(n, ['env', ...env, ...argv]));
  }
  const ep = CPS.map((n) => `https://${bed.host(n).address}:2379`).join(',');
  const pki = '/etc/kubernetes/pki/etcd';
  const ctl = ['env', 'ETCDCTL_API=3', '/usr/local/bin/etcdctl', `--endpoints=${ep}`, `--cacert=${pki}/ca.crt`, `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, '--dial-timeout=2s', '--command-timeout=3s'];
  let health = { status: -1 as number | null, stdout: '', stderr: '' };
  for (let i = 0; i < 60; i++) {
    health = await bed.exec('cp-1', [...ctl, 'endpoint', 'health']);
    if (health.status === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.is(health.status, 0, health.stdout + health.stderr);
  assert.is((health.stdout + health.stderr).match(/is healthy/g)?.length, 3, health.stdout + health.stderr);
  const members = await bed.exec('cp-1', [...ctl, 'member', 'list']);
  assert.is(members.status, 0, members.stderr);
  for (const n of CPS) assert.ok(members.stdout.includes(`${n}, https://${bed.host(n).address}:2380`), members.stdout);
});

maybe('the real HAProxy on lb-1 from the installed config health-checks apiserver stand-ins over verified TLS; kubectl on cp-1 with admin.conf reaches them through it', async () => {
  const standInLog = '/run/kpki-apiserver-stand-in.log';
  for (const n of CPS) {
    const argv = execStartArgv(parseUnit(await inHost(n, 'cat /etc/systemd/system/kube-apiserver.service')));
    const f = (name: string) => flagValue(argv, name);
    assert.is(f('advertise-address'), bed.host(n).address, n);
    servers.push(bed.startIn(n, [process.execPath, STAND_IN_JS, '--cert', f('tls-cert-file'), '--key', f('tls-private-key-file'), '--ca', f('client-ca-file'), '--address', f('advertise-address'), '--port', f('secure-port'), '--name', n, '--log', standInLog]));
  }
  const requests = async (n: string) => (await inHost(n, `cat ${standInLog} 2>/dev/null; true`)).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path?: string; listening?: string });
  for (const n of CPS) {
    for (let i = 0; i < 100 && !(await requests(n)).some((r) => r.listening); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await requests(n)).some((r) => r.listening), `the stand-in on ${n} did not start`);
  }
  const cfg = await inHost('lb-1', 'cat /etc/haproxy/haproxy.cfg');
  assert.ok(cfg.includes(`bind ${bed.host('lb-1').address}:6443`), cfg);
  const check = await bed.exec('lb-1', ['/usr/sbin/haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg']);
  assert.is(check.status, 0, check.stdout + check.stderr);
  servers.push(bed.startIn('lb-1', ['/usr/sbin/haproxy', '-db', '-f', '/etc/haproxy/haproxy.cfg']));
  // Health checks (GET /readyz, the apiserver certificate verified against the installed CA) reach every control plane.
  const checked = async () => (await Promise.all(CPS.map(async (n) => (await requests(n)).some((r) => r.path === '/readyz')))).every(Boolean);
  for (let i = 0; i < 150 && !(await checked()); i++) await new Promise((r) => setTimeout(r, 100));
  for (const n of CPS) assert.ok((await requests(n)).some((r) => r.path === '/readyz'), `no health check from lb-1 reached ${n}`);
  // kubectl (the machine's real one, not the bed's stand-in in /usr/local/bin) on cp-1 through the endpoint.
  assert.match(await inHost('cp-1', 'cat /etc/kubernetes/admin.conf'), new RegExp(`server: https://${bed.host('lb-1').address.replaceAll('.', '\\.')}:6443`));
  const served = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await bed.exec('cp-1', ['/usr/bin/kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', '--raw', '/version', '--request-timeout=10s']);
    assert.is(r.status, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { servedBy: string; client: string | null };
    assert.ok(CPS.includes(body.servedBy), r.stdout);
    assert.is(body.client, 'kubernetes-admin', 'the admin client certificate went through HAProxy to the apiserver');
    served.add(body.servedBy);
  }
  // Round robin over healthy servers: more than one control plane answered.
  assert.ok(served.size > 1, [...served].join(','));
});

maybe('a second run: every host unchanged, binaries skipped by digest, systemctl not called', async () => {
  const before = await Promise.all(NAMES.map(async (n) => inHost(n, 'cat /run/systemctl.log')));
  const r = await run('node', [CLI, ...installArgs('--binaries', bins)]);
  assert.is(r.status, 0, r.stderr);
  const report = parse(r.stdout, r.stderr);
  for (const h of report.hosts) {
    assert.is(h.status, 'unchanged', h.node);
    assert.is(h.counts.added + h.counts.changed + h.counts.mode, 0, h.node);
    assert.ok((h.binaries ?? []).every((b) => b.action === 'unchanged'), h.node);
    assert.is(h.restarted, undefined, h.node);
  }
  const after = await Promise.all(NAMES.map(async (n) => inHost(n, 'cat /run/systemctl.log')));
  assert.equal(after, before);
  const human = await run('node', [CLI, ...installArgs().filter((a) => a !== '--json')]);
  assert.is(human.status, 0, human.stderr);
  assert.match(human.stdout, /Nothing to do: all 6 hosts match/);
});

maybe('--no-start places a missing file and calls systemctl for nothing; a changed kubeconfig then restarts only the component that reads it', async () => {
  const log = async () => (await inHost('w-1', 'cat /run/systemctl.log')).trim().split('\n');
  const before = await log();
  await inHost('w-1', 'rm /etc/kubernetes/kubelet.conf');
  const r = await run('node', [CLI, ...installArgs('--hosts', 'w-1', '--no-start')]);
  assert.is(r.status, 0, r.stderr);
  const h = hostOf(parse(r.stdout, r.stderr), 'w-1');
  assert.equal(h.files.filter((f) => f.action !== 'unchanged').map((f) => [f.path, f.action]), [['etc/kubernetes/kubelet.conf', 'added']]);
  assert.equal(await log(), before);
  // The kube-proxy kubeconfig edited by hand: restored (backed up on the host), kube-proxy restarted, nothing else.
  const proxyConf = listFiles(join(stage, 'w-1')).find((p) => /^etc\/kubernetes\/.*proxy.*\.conf$/.test(p))!;
  await inHost('w-1', `echo '# edited' >> /${proxyConf}`);
  const again = await run('node', [CLI, ...installArgs('--hosts', 'w-1')]);
  assert.is(again.status, 0, again.stderr);
  const h2 = hostOf(parse(again.stdout, again.stderr), 'w-1');
  assert.equal(h2.files.filter((f) => f.action !== 'unchanged').map((f) => [f.path, f.action]), [[proxyConf, 'changed']]);
  assert.equal(await log(), [...before, 'restart --no-block kube-proxy.service']);
  assert.match(await inHost('w-1', `cat /var/backups/kpki/*/${proxyConf}`), /# edited/);
});

maybe('a changed host key is refused naming its fingerprint; the other hosts complete; exit 1', async () => {
  const fp = await bed.rekey('w-2');
  const r = await run('node', [CLI, ...installArgs()]);
  assert.is(r.status, 1, r.stderr);
  const report = parse(r.stdout, r.stderr);
  const w2 = hostOf(report, 'w-2');
  assert.is(w2.status, 'failed');
  assert.match(w2.error!, /CHANGED/);
  assert.ok(w2.error!.includes(fp), w2.error);
  for (const n of NAMES.filter((x) => x !== 'w-2')) assert.is(hostOf(report, n).status, 'unchanged', n);
  const human = await run('node', [CLI, ...installArgs().filter((a) => a !== '--json')]);
  assert.is(human.status, 1);
  assert.match(human.stdout, /1 of 6 hosts failed/);
});

maybe('--ansible: ansible-playbook --check sees no change after kpki install; on a host missing a file the playbook restores it and restarts only what reads it', async () => {
  if ((await run('ansible-playbook', ['--version'])).status !== 0) {
    console.log('skipped: ansible-playbook is not installed (Debian: ansible-core)');
    return;
  }
  const dir = join(work, 'playbook');
  const w = kpki(['install', '-p', planFile, '-o', out, '--ansible', dir, '--hosts', 'w-1']);
  assert.is(w.status, 0, w.stderr);
  const home = join(work, 'ansible-home');
  const env = {
    ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_HOME: home, ANSIBLE_SSH_CONTROL_PATH_DIR: join(home, 'cp'),
    ANSIBLE_SSH_ARGS: `-F ${bed.sshConfig} -o ControlMaster=auto -o ControlPersist=60s`, ANSIBLE_REMOTE_TMP: '/run/kpki-ansible-tmp',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0', ANSIBLE_LOCAL_TEMP: join(home, 'tmp'),
  };
  const playbook = (...args: string[]) => run('ansible-playbook', ['playbook.yml', ...args], { cwd: dir, env, boundMs: 300_000 });
  const changedOf = (stdout: string) => Number(/^w-1\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0/m.exec(stdout)?.[1] ?? -1);
  const check = await playbook('--check');
  assert.is(check.status, 0, check.stdout.slice(-3000) + check.stderr);
  assert.is(changedOf(check.stdout), 0, check.stdout.slice(-3000));
  const log = async () => (await inHost('w-1', 'cat /run/systemctl.log')).trim().split('\n');
  const before = await log();
  await inHost('w-1', 'rm /etc/kubernetes/kubelet.conf');
  const apply = await playbook();
  assert.is(apply.status, 0, apply.stdout.slice(-3000) + apply.stderr);
  assert.ok(changedOf(apply.stdout) > 0, apply.stdout.slice(-3000));
  assert.equal(await log(), [...before, 'restart --no-block kubelet.service']);
  const r = await run('node', [CLI, ...installArgs('--hosts', 'w-1')]);
  assert.is(r.status, 0, r.stderr);
  assert.is(hostOf(parse(r.stdout, r.stderr), 'w-1').status, 'unchanged');
});

maybe('an unreachable host is reported while the others complete', async () => {
  await bed.stop('lb-1');
  const r = await run('node', [CLI, ...installArgs()]);
  assert.is(r.status, 1, r.stderr);
  const report = parse(r.stdout, r.stderr);
  assert.is(hostOf(report, 'lb-1').status, 'failed');
  assert.match(hostOf(report, 'lb-1').error!, /^lb-1 \(10\.231\.\d+\.\d+\): cannot connect: .*(refused|closed|timed out)/);
  assert.is(hostOf(report, 'w-2').status, 'failed');
  for (const n of ['cp-1', 'cp-2', 'cp-3', 'w-1']) assert.is(hostOf(report, n).status, 'unchanged', n);
});

t.run();
