/**
 * kpki preflight and the SSH transport against a test bed of three hosts (network, mount and
 * UTS namespaces on a private bridge, each with Debian's sshd). Planted on purpose:
 *  - cp-1 and w-1 share a product_uuid (planted over /sys/class/dmi/id/product_uuid);
 *  - cp-1 has swap on (a /proc/swaps stand-in bind-mounted over the real one: the sandbox
 *    cannot turn swap on);
 *  - w-1 has its kubelet port 10250 taken by a listener in its namespace;
 *  - w-2's clock runs 600 s ahead (a `date` wrapper through faketime in its /usr/local/bin),
 *    lacks kube-proxy in its binDir and has no container runtime socket.
 * check --remote audits the node trees put on the hosts, and names a hand-replaced
 * apiserver.crt, a chmod and a deleted file per node. Then: a changed host key is refused naming the new fingerprint while the others succeed,
 * an unreachable host is reported while the others complete, and key material applied
 * through the SSH sink never shows in `ps` output or in sshd's log.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { planChanges } from '../../pki/sinks/changes.js';
import { sshSink } from '../../pki/sinks/ssh.js';
import { openSshTransport, TransportError, type Transport } from '../../pki/sinks/ssh-transport.js';
import { installHosts, renderInstall, type HostFileSet } from '../../pki/install/install.js';
import { writeAnsible } from '../../pki/install/ansible.js';
import { kpki, ROOT, tempDir } from '../support/cli.js';
import { run, runSync, type BoundedChild } from '../support/proc.js';
import { bedTest, bedUnavailable, startTestBed, type TestBed } from '../support/testbed.js';

const Ajv = AjvModule.default;
const t = suite('preflight and transport on the test bed');
const unavailable = bedUnavailable();
let bed: TestBed;
let planFile: string;
let listener: BoundedChild | undefined;
/** The store check --remote compared the hosts with (its node trees are on the hosts). */
let storeOut: string | undefined;
/** The file sets the install test put on the hosts. */
let installed: HostFileSet[] = [];
const UUID = '4C4C4544-0042-3610-8052-B7C04F4E3732';

interface Check { check: string; status: string; message: string }
interface Report { status: string; exitCode: number; hosts: Array<{ node: string; host: string; checks: Check[] }> }
const checkOf = (r: Report, node: string, check: string) => r.hosts.find((h) => h.node === node)!.checks.find((c) => c.check === check)!;
const statuses = (r: Report, node: string) =>
  Object.fromEntries(r.hosts.find((h) => h.node === node)!.checks.map((c) => [c.check, c.status]));

async function inHost(name: string, script: string): Promise<string> {
  const r = await bed.exec(name, ['sh', '-c', script]);
  if (r.status !== 0) throw new Error(`${name}: ${script}: ${r.stderr}`);
  return r.stdout;
}

const preflightJson = (...extra: string[]) => {
  const r = kpki(['preflight', '-p', planFile, '--ssh-config', bed.sshConfig, '--json', ...extra]);
  return { status: r.status, report: JSON.parse(r.stdout || '{}') as Report, stderr: r.stderr };
};

t.before(async () => {
  if (unavailable) return;
  bed = await startTestBed([
    { name: 'cp-1', productUuid: UUID, swaps: 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t1048572\t\t0\t\t-2\n' },
    { name: 'w-1', productUuid: UUID },
    { name: 'w-2', clockOffsetS: 600 },
  ]);
  const bins: Record<string, string[]> = {
    'cp-1': ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'kubelet', 'kube-proxy'],
    'w-1': ['kubelet', 'kube-proxy'],
    'w-2': ['kubelet'],
  };
  for (const [name, list] of Object.entries(bins)) {
    await inHost(name, list.map((b) => `printf '#!/bin/sh\\n' > /usr/local/bin/${b} && chmod 755 /usr/local/bin/${b}`).join(' && '));
  }
  // A runtime socket on cp-1 and w-1 (left behind by a process that exits without closing it).
  for (const name of ['cp-1', 'w-1']) {
    await inHost(name, `node -e "require('fs').mkdirSync('/run/containerd',{recursive:true}); require('net').createServer().listen('/run/containerd/containerd.sock', () => process.exit(0))"`);
  }
  await inHost('w-1', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
  listener = bed.startIn('w-1', ['node', '-e', "require('net').createServer().listen(10250, '0.0.0.0')"]);
  // Listening before preflight reads /proc/net/tcp (bounded).
  for (let i = 0; i < 200 && !(await inHost('w-1', 'cat /proc/net/tcp')).includes(':280A '); i++) await new Promise((r) => setTimeout(r, 25));
  const dir = tempDir('kpki-preflight-');
  planFile = join(dir, 'cluster.yaml');
  writeFileSync(planFile, [
    'apiVersion: kpki/v1alpha1', 'kind: Cluster', 'nodes:',
    ...bed.hosts.map((h) => `  - { name: ${h.name}, address: ${h.address}, roles: [${h.name === 'cp-1' ? 'control-plane' : 'worker'}] }`),
    '',
  ].join('\n'));
});

t.after(async () => {
  listener?.kill('SIGKILL');
  bed?.teardown();
});

const maybe = bedTest(t, unavailable);

maybe('preflight finds the duplicate product_uuid, swap, the port in use, the skewed clock, the missing binary and socket; exit 1', () => {
  const { status, report, stderr } = preflightJson();
  assert.is(status, 1, stderr);
  const ajv = new Ajv({ allErrors: true, strict: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } });
  const valid = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema/preflight-report.schema.json'), 'utf8')));
  assert.ok(valid(report), JSON.stringify(valid.errors));
  assert.is(report.status, 'fail');
  assert.equal(report.hosts.map((h) => h.node), ['cp-1', 'w-1', 'w-2']);
  assert.equal(report.hosts.map((h) => h.host), bed.hosts.map((h) => h.address));

  assert.equal(statuses(report, 'cp-1'), {
    reachable: 'ok', 'unique-hostname': 'ok', 'unique-mac': 'ok', 'unique-product-uuid': 'fail', swap: 'fail',
    modules: statuses(report, 'cp-1').modules, sysctls: 'warn', ports: 'ok', clock: 'ok', binaries: 'ok', 'runtime-socket': 'ok',
  });
  assert.match(checkOf(report, 'cp-1', 'unique-product-uuid').message, /also that of w-1/);
  assert.match(checkOf(report, 'cp-1', 'unique-product-uuid').message, /4c4c4544-0042-3610-8052-b7c04f4e3732/);
  assert.match(checkOf(report, 'cp-1', 'swap').message, /\/swapfile/);
  assert.match(checkOf(report, 'cp-1', 'sysctls').message, /net\.ipv4\.ip_forward = 0/);

  assert.is(checkOf(report, 'w-1', 'unique-product-uuid').status, 'fail');
  assert.match(checkOf(report, 'w-1', 'unique-product-uuid').message, /also that of cp-1/);
  assert.is(checkOf(report, 'w-1', 'ports').status, 'fail');
  assert.match(checkOf(report, 'w-1', 'ports').message, /10250 \(kubelet\)/);
  assert.is(checkOf(report, 'w-1', 'swap').status, 'ok');
  assert.not.match(checkOf(report, 'w-1', 'sysctls').message, /ip_forward/);
  assert.is(checkOf(report, 'w-1', 'clock').status, 'ok');

  assert.is(checkOf(report, 'w-2', 'clock').status, 'fail');
  assert.match(checkOf(report, 'w-2', 'clock').message, /^(59\d|60\d)\.\d s ahead of this machine/);
  assert.is(checkOf(report, 'w-2', 'binaries').status, 'fail');
  assert.match(checkOf(report, 'w-2', 'binaries').message, /kube-proxy missing from \/usr\/local\/bin/);
  assert.is(checkOf(report, 'w-2', 'runtime-socket').status, 'fail');
  assert.is(checkOf(report, 'w-2', 'unique-product-uuid').status, 'ok');
  assert.is(checkOf(report, 'w-2', 'ports').status, 'ok');
});

maybe('the table names each problem per node; --hosts limits the run (duplicates are judged among the hosts read)', () => {
  const r = kpki(['preflight', '-p', planFile, '--ssh-config', bed.sshConfig]);
  assert.is(r.status, 1);
  assert.match(r.stdout, /^NODE\s+CHECK\s+RESULT\s+DETAIL/);
  assert.match(r.stdout, /\nw-2\s+clock\s+FAIL\s+\d+\.\d s ahead/);
  assert.match(r.stdout, /\nw-1\s+ports\s+FAIL\s+in use: 10250 \(kubelet\)/);
  assert.match(r.stdout, /NOT READY/);
  const one = preflightJson('--hosts', 'w-1');
  assert.equal(one.report.hosts.map((h) => h.node), ['w-1']);
  assert.is(checkOf(one.report, 'w-1', 'unique-product-uuid').status, 'ok');
  const bad = kpki(['preflight', '-p', planFile, '--ssh-config', bed.sshConfig, '--hosts', 'cp-1,nope']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--hosts: nope is not a node of .*cluster\.yaml/);
});

maybe('nodes[].ssh.host can be an alias of the --ssh-config file (its HostName, port and key apply)', () => {
  const dir = tempDir('kpki-alias-');
  const config = join(dir, 'ssh_config');
  const cp1 = bed.host('cp-1');
  // The alias's block first: OpenSSH takes the first value of each option.
  writeFileSync(config, `Host cp-one\n  HostName ${cp1.address}\n  HostKeyAlias ${cp1.address}\n\n${readFileSync(bed.sshConfig, 'utf8')}`);
  const plan = join(dir, 'cluster.yaml');
  // Its address is one of the bed's that nothing answers on: only the alias reaches cp-1.
  writeFileSync(plan, `apiVersion: kpki/v1alpha1\nkind: Cluster\nnodes:\n  - { name: cp-1, address: ${bed.unusedAddress}, roles: [control-plane], ssh: { host: cp-one, port: 22, user: root } }\n`);
  const r = kpki(['preflight', '-p', plan, '--ssh-config', config, '--json']);
  const report = JSON.parse(r.stdout) as Report;
  assert.is(report.hosts[0]!.host, 'cp-one');
  assert.is(checkOf(report, 'cp-1', 'reachable').status, 'ok', checkOf(report, 'cp-1', 'reachable').message);
  assert.is(checkOf(report, 'cp-1', 'unique-hostname').message, 'cp-1');
});

maybe('an unknown host key is refused naming its fingerprint; --accept-new-host-keys (accept-new) takes it', async () => {
  const dir = tempDir('kpki-known-');
  const config = join(dir, 'ssh_config');
  copyFileSync(bed.sshConfig, config);
  writeFileSync(config, readFileSync(config, 'utf8').replace(bed.knownHosts, join(dir, 'known_hosts')));
  const cp1 = bed.host('cp-1');
  const strict = openSshTransport({ configFile: config });
  try {
    await strict.exec({ name: 'cp-1', host: cp1.address }, 'true');
    assert.unreachable('connected to an unknown host');
  } catch (err) {
    assert.instance(err, TransportError);
    assert.is((err as TransportError).fingerprint, cp1.hostKeyFingerprint);
    assert.match((err as Error).message, new RegExp(`^cp-1 \\(${cp1.address.replace(/\./g, '\\.')}\\): its host key is not in known_hosts \\(it offered ssh-ed25519 key ${cp1.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}\\)`));
  } finally {
    await strict.close();
  }
  const lenient = openSshTransport({ configFile: config, acceptNewHostKeys: true });
  try {
    const r = await lenient.exec({ name: 'cp-1', host: cp1.address }, 'hostname');
    assert.is(r.stdout.toString().trim(), 'cp-1');
    assert.match(readFileSync(join(dir, 'known_hosts'), 'utf8'), new RegExp(`^${cp1.address.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'));
  } finally {
    await lenient.close();
  }
});

maybe('one ControlMaster per host serves every exec; key material applied through the SSH sink is never in ps output or sshd logs', async () => {
  const transport = openSshTransport({ configFile: bed.sshConfig });
  const target = { name: 'cp-1', host: bed.host('cp-1').address };
  const keys = Array.from({ length: 40 }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string);
  const secretLines = keys.map((k) => k.split('\n')[1]!);
  try {
    const sink = sshSink(transport, target, { root: '/var/lib/kpki-secret' });
    const wanted = keys.map((content, i) => ({ path: `pki/k${i}.key`, mode: 0o600, content, protected: false }));
    const set = planChanges(wanted, await sink.observe(['pki']), { exact: [], whyRemoved: () => '', root: 'x' });
    let done = false;
    const applying = sink.apply(set, { backupStamp: 'b1' }).finally(() => (done = true));
    const samples: string[] = [];
    for (let i = 0; i < 400 && !done; i++) {
      samples.push((await run('ps', ['axeww', '-o', 'args'])).stdout);
      samples.push((await bed.exec('cp-1', ['ps', 'axeww', '-o', 'args'])).stdout);
    }
    await applying;
    samples.push((await run('ps', ['axeww', '-o', 'args'])).stdout);
    assert.ok(samples.length >= 2);
    // The samples did see kpki's processes (so they would have seen a key on their command lines).
    assert.ok(samples.some((s) => /ControlMaster=yes/.test(s)), 'no ssh master in any sample');
    for (const s of samples) for (const line of secretLines) assert.not.ok(s.includes(line), 'a key line in ps output');
    for (const h of bed.hosts) {
      const log = readFileSync(h.log, 'utf8');
      for (const line of secretLines) assert.not.ok(log.includes(line), `a key line in ${h.name}'s sshd log`);
    }
    // On the host: every key 0600 root in a 0700 directory, content intact.
    const ls = await inHost('cp-1', 'stat -c "%a %u %n" /var/lib/kpki-secret/pki /var/lib/kpki-secret/pki/k0.key /var/lib/kpki-secret/pki/k39.key');
    assert.equal(ls.trim().split('\n'), ['700 0 /var/lib/kpki-secret/pki', '600 0 /var/lib/kpki-secret/pki/k0.key', '600 0 /var/lib/kpki-secret/pki/k39.key']);
    assert.is(await inHost('cp-1', 'cat /var/lib/kpki-secret/pki/k7.key'), keys[7]);
    // Exactly one master connection to cp-1 carried all of it.
    const masters = (await run('ps', ['axww', '-o', 'args'])).stdout.split('\n').filter((l) => l.includes('ControlMaster=yes') && l.includes(target.host));
    assert.is(masters.length, 1, masters.join('\n'));
  } finally {
    await transport.close();
  }
});

maybe('an embedding program\'s own Transport: a re-run with nothing to change is one round trip per host, and the host\'s directories above the trees keep their modes', async () => {
  const inner = openSshTransport({ configFile: bed.sshConfig });
  const scripts: string[] = [];
  const counting: Transport = {
    exec: (target, script, stdin) => {
      scripts.push(script);
      return inner.exec(target, script, stdin);
    },
    close: () => inner.close(),
  };
  try {
    await inHost('cp-1', 'mkdir -p /var/lib/kpki-own && chmod 750 /var/lib/kpki-own');
    const sink = sshSink(counting, { name: 'cp-1', host: bed.host('cp-1').address });
    const wanted = [{ path: 'var/lib/kpki-own/pki/a.crt', mode: 0o644, content: 'a\n', protected: false }, { path: 'var/lib/kpki-own/pki/a.key', mode: 0o600, content: 'k\n', protected: false }];
    const trees = ['var/lib/kpki-own/pki'];
    const first = await sink.apply(planChanges(wanted, await sink.observe(trees), { exact: trees, whyRemoved: () => '', root: 'cp-1' }), { backupStamp: 'r1' });
    assert.equal(first.map((a) => a.action), ['created', 'created']);
    assert.is(scripts.length, 2);
    const again = planChanges(wanted, await sink.observe(trees), { exact: trees, whyRemoved: () => '', root: 'cp-1' });
    assert.equal(await sink.apply(again, { backupStamp: 'r2' }), []);
    assert.is(scripts.length, 3, 'the re-run only observed');
    assert.equal((await inHost('cp-1', 'stat -c "%a %n" /var/lib /var/lib/kpki-own /var/lib/kpki-own/pki')).trim().split('\n'), ['755 /var/lib', '750 /var/lib/kpki-own', '700 /var/lib/kpki-own/pki']);
  } finally {
    await counting.close();
  }
});

maybe('the install engine puts each node tree on its host: a dry run changes nothing, then exactly the files with their modes, owner root; a second run changes nothing', async () => {
  const out = join(tempDir('kpki-remote-'), 'out');
  storeOut = out;
  const gen = kpki(['gen', '-p', planFile, '-o', out]);
  assert.is(gen.status, 0, gen.stderr);
  const sets: HostFileSet[] = [];
  for (const h of bed.hosts) {
    const prefix = join(out, 'nodes', h.name);
    const files = (await run('find', [prefix, '-type', 'f', '-printf', '%P %m\\n'])).stdout.trim().split('\n').map((l) => l.split(' '));
    sets.push({ host: h.name, files: files.map(([rel, mode]) => ({ path: rel!, mode: parseInt(mode!, 8), content: readFileSync(join(prefix, rel!), 'utf8') })) });
  }
  /** Every file under the directories the trees use, with hash, mode and owner, as the host holds them. */
  const hostTree = (name: string) => inHost(name, 'find /etc/kubernetes /var/lib/kubelet -type f -printf "%m %U %P " -exec sha256sum {} \\; 2>/dev/null | sort; true');
  const before = await Promise.all(bed.hosts.map((h) => hostTree(h.name)));
  const transport = openSshTransport({ configFile: bed.sshConfig });
  const target = (node: string) => ({ name: node, host: bed.host(node).address });
  try {
    const dry = await installHosts(sets, { transport, target, dryRun: true });
    assert.equal(dry.hosts.map((h) => `${h.node} ${h.status} ${h.counts.added}`), sets.map((s) => `${s.host} changed ${s.files.length}`));
    assert.equal(await Promise.all(bed.hosts.map((h) => hostTree(h.name))), before, 'the dry run wrote something');
    const apiserver = dry.hosts[0]!.files.find((f) => f.path === 'etc/kubernetes/pki/apiserver.crt')!;
    assert.match(apiserver.certificate?.subject ?? '', /CN=kube-apiserver/);
    assert.not.match(renderInstall(dry), /PRIVATE KEY|BEGIN/);

    // A stand-in systemctl on each host (the bed runs no systemd) logs what it is asked to do.
    for (const h of bed.hosts) await inHost(h.name, `printf '%s\\n' '#!/bin/sh' 'echo "$*" >> /run/systemctl.log' > /usr/local/bin/systemctl && chmod 755 /usr/local/bin/systemctl`);
    const restarts = (node: string, changed: readonly string[]) => ({
      units: [...(node === 'cp-1' && changed.some((p) => p.startsWith('etc/kubernetes/pki/')) ? ['kube-apiserver.service'] : []), ...(changed.includes('etc/kubernetes/kubelet.conf') ? ['kubelet.service'] : [])],
    });
    const first = await installHosts(sets, { transport, target, restarts });
    assert.is(first.exitCode, 0);
    assert.equal(first.hosts.map((h) => h.status), ['changed', 'changed', 'changed']);
    assert.equal(first.hosts.map((h) => h.restarted), [['kube-apiserver.service', 'kubelet.service'], ['kubelet.service'], ['kubelet.service']]);
    assert.is((await inHost('cp-1', 'cat /run/systemctl.log')).trim(), 'restart --no-block kube-apiserver.service kubelet.service');
    for (const set of sets) {
      const held = (await inHost(set.host, 'find /etc/kubernetes /var/lib/kubelet -type f -printf "%m %U /%P\\n" | sort')).trim().split('\n');
      const want = set.files.map((f) => `${f.mode.toString(8)} 0 ${f.path.replace(/^(etc\/kubernetes|var\/lib\/kubelet)/, '')}`).sort();
      assert.equal(held, want, set.host);
    }
    assert.is((await bed.exec('w-1', ['test', '-e', '/etc/kubernetes/pki/ca.key'])).status, 1, 'a worker holds the CA key');
    assert.is((await bed.exec('cp-1', ['test', '-e', '/etc/kubernetes/pki/ca.key'])).status, 0);

    installed = sets;
    const again = await installHosts(sets, { transport, target, restarts });
    assert.equal(again.hosts.map((h) => `${h.status} ${h.counts.unchanged}`), sets.map((s) => `unchanged ${s.files.length}`));
    assert.equal(again.hosts.map((h) => h.restarted), [undefined, undefined, undefined]);
    for (const h of bed.hosts) assert.is((await inHost(h.name, 'wc -l < /run/systemctl.log')).trim(), '1', `${h.name} restarted something on a run that changed nothing`);
  } finally {
    await transport.close();
  }
});

maybe('the Ansible hand-off: ansible-playbook --check reports no change after kpki installed the same files; on a wiped host the playbook makes what kpki makes', async () => {
  if (runSync('ansible-playbook', ['--version']).status !== 0) {
    console.log('skipped: ansible-playbook is not installed (Debian: ansible-core)');
    return;
  }
  const dir = join(tempDir('kpki-ansible-'), 'playbook');
  const target = (node: string) => ({ name: node, host: bed.host(node).address });
  writeAnsible(dir, installed, { target, groups: (node) => (node === 'cp-1' ? ['control-plane'] : ['worker']) });
  const home = tempDir('kpki-ansible-home-');
  const env = {
    ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_HOME: home, ANSIBLE_SSH_CONTROL_PATH_DIR: join(home, 'cp'),
    ANSIBLE_SSH_ARGS: `-F ${bed.sshConfig} -o ControlMaster=auto -o ControlPersist=60s`, ANSIBLE_REMOTE_TMP: '/run/kpki-ansible-tmp',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0', ANSIBLE_LOCAL_TEMP: join(home, 'tmp'),
  };
  const playbook = (...args: string[]) => run('ansible-playbook', ['playbook.yml', ...args], { cwd: dir, env, boundMs: 300_000 });
  const recap = (out: string, host: string) => {
    const m = new RegExp(`^${host}\\s+: ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)`, 'm').exec(out);
    assert.ok(m, `no recap for ${host}:\n${out.slice(-3000)}`);
    return { changed: Number(m[2]), unreachable: Number(m[3]), failed: Number(m[4]) };
  };
  // The workers (a control plane's 30 files take ansible a minute on a loaded 2-core runner).
  const check = await playbook('--check', '--limit', 'w-1,w-2');
  assert.is(check.status, 0, check.stdout.slice(-3000) + check.stderr);
  for (const h of ['w-1', 'w-2']) assert.equal(recap(check.stdout, h), { changed: 0, unreachable: 0, failed: 0 }, h);
  const keyLine = installed[1]!.files.find((f) => f.path.endsWith('.key'))!.content.split('\n')[1]!;
  assert.not.ok(check.stdout.includes(keyLine));

  const tree = () => inHost('w-2', 'find /etc/kubernetes /var/lib/kubelet -printf "%y %m %U %P\\n" | sort; find /etc/kubernetes /var/lib/kubelet -type f -exec sha256sum {} \\; | sort');
  const before = await tree();
  await inHost('w-2', 'rm -rf /etc/kubernetes /var/lib/kubelet');
  const apply = await playbook('--limit', 'w-2');
  assert.is(apply.status, 0, apply.stdout.slice(-3000) + apply.stderr);
  assert.ok(recap(apply.stdout, 'w-2').changed > 0);
  assert.is(await tree(), before);
  const transport = openSshTransport({ configFile: bed.sshConfig });
  try {
    const dry = await installHosts(installed.filter((x) => x.host === 'w-2'), { transport, target, dryRun: true });
    assert.equal(dry.hosts.map((h) => h.status), ['unchanged']);
  } finally {
    await transport.close();
  }
});

maybe('check --remote: the node trees put on the hosts audit clean; a hand-replaced apiserver.crt, a chmod and a deleted file are each reported with their node', async () => {
  const out = storeOut!;
  const clean = kpki(['check', '--out', out, '--plan', planFile, '--remote', '--ssh-config', bed.sshConfig, '--json']);
  const report = JSON.parse(clean.stdout) as { status: string; findings: Array<{ code: string; file: string; message: string }>; certificates: Array<{ node?: string }>; record?: { used: boolean } };
  assert.equal(report.findings.filter((f) => f.code.startsWith('remote-')), []);
  assert.is(clean.status, 0, clean.stdout.slice(0, 2000));
  assert.equal([...new Set(report.certificates.map((c) => c.node).filter(Boolean))].sort(), ['cp-1', 'w-1', 'w-2']);
  assert.is(report.record?.used, false);

  // By hand: a self-signed apiserver.crt on cp-1, kubelet.conf world-readable on w-1, kube-proxy.conf gone from w-2.
  const other = (await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=kube-apiserver', '-days', '30'])).stdout;
  await bed.exec('cp-1', ['sh', '-c', 'cat > /etc/kubernetes/pki/apiserver.crt'], other);
  await inHost('w-1', 'chmod 644 /etc/kubernetes/kubelet.conf');
  await inHost('w-2', 'rm /etc/kubernetes/kube-proxy.conf');
  const r = kpki(['check', '--out', out, '--plan', planFile, '--remote', '--ssh-config', bed.sshConfig, '--json']);
  assert.is(r.status, 2, r.stdout.slice(0, 2000));
  const after = JSON.parse(r.stdout) as typeof report;
  const remote = after.findings.filter((f) => f.code.startsWith('remote-')).map((f) => `${f.code} ${f.file}`).sort();
  assert.equal(remote, [
    'remote-missing nodes/w-2/etc/kubernetes/kube-proxy.conf',
    'remote-mode nodes/w-1/etc/kubernetes/kubelet.conf',
    'remote-stale nodes/cp-1/etc/kubernetes/pki/apiserver.crt',
  ]);
  assert.match(after.findings.find((f) => f.code === 'remote-mode')!.message, /^w-1: \/etc\/kubernetes\/kubelet\.conf has mode 0644, the store's is 0600/);
  // The audit judged the host's apiserver.crt (not signed by the cluster CA), not the store's.
  assert.ok(after.findings.some((f) => f.file === 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt' && !f.code.startsWith('remote-') && /critical|warning/.test(JSON.stringify(f))), JSON.stringify(after.findings.filter((f) => f.file.includes('apiserver.crt'))));
  const table = kpki(['check', '--out', out, '--plan', planFile, '--remote', '--ssh-config', bed.sshConfig, '--hosts', 'cp-1']);
  assert.match(table.stdout, /NODE/);
  assert.match(table.stdout, /apiserver\.crt/);
  assert.not.match(table.stdout, /kube-proxy\.conf.*(not on the host)/);
});

maybe('a login user other than root runs every script through sudo -n; a sudo that wants a password is a clear error', async () => {
  // On w-2 only (its /etc is a private overlay): a user, and a stand-in sudo that shows it was
  // called as `sudo -n sh -c …` and runs the command as that user (the bed has no real sudo).
  await inHost('w-2', "useradd -M -d / -s /bin/sh kpkiop && usermod -p '*' kpkiop");
  await inHost('w-2', `printf '%s\\n' '#!/bin/sh' '[ "$1" = -n ] || { echo "sudo: a terminal is required" >&2; exit 1; }' 'shift' '[ -e /etc/kpki-sudo-deny ] && { echo "sudo: a password is required" >&2; exit 1; }' 'echo "stand-in sudo: $1 $2"' 'exec "$@"' > /usr/local/bin/sudo && chmod 755 /usr/local/bin/sudo`);
  const transport = openSshTransport({ configFile: bed.sshConfig });
  const target = { name: 'w-2', host: bed.host('w-2').address, user: 'kpkiop' };
  try {
    const r = await transport.exec(target, 'id -un');
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim().split('\n'), ['stand-in sudo: sh -c', 'kpkiop']);
    await inHost('w-2', 'touch /etc/kpki-sudo-deny');
    await transport.exec(target, 'id -un').then(
      () => assert.unreachable('ran without sudo'),
      (e: Error) => {
        assert.instance(e, TransportError);
        assert.match(e.message, /^w-2 \(10\.231\.\d+\.\d+\): kpkiop cannot run commands as root without a password \(sudo -n\)$/);
      },
    );
  } finally {
    await transport.close();
  }
});

maybe('a script that does not finish within the command timeout is a clear error naming the host; the connection still serves the next one', async () => {
  const transport = openSshTransport({ configFile: bed.sshConfig, commandTimeoutS: 1 });
  const target = { name: 'cp-1', host: bed.host('cp-1').address };
  try {
    await transport.exec(target, 'sleep 8').then(
      () => assert.unreachable('finished'),
      (e: Error) => assert.match(e.message, /^cp-1 \(10\.231\.\d+\.\d+\): a command did not finish within 1 s; its ssh client was stopped/),
    );
    assert.is((await transport.exec(target, 'hostname')).stdout.toString().trim(), 'cp-1');
  } finally {
    await transport.close();
  }
});

maybe('a changed host key is refused naming the new fingerprint and an unreachable host is reported, while the other host completes', async () => {
  const fp = await bed.rekey('w-1');
  await bed.stop('w-2');
  const { status, report } = preflightJson();
  assert.is(status, 1);
  assert.is(checkOf(report, 'w-1', 'reachable').status, 'fail');
  assert.match(checkOf(report, 'w-1', 'reachable').message, /^w-1 \(10\.231\.\d+\.\d+\): its host key has CHANGED/);
  assert.ok(checkOf(report, 'w-1', 'reachable').message.includes(fp), checkOf(report, 'w-1', 'reachable').message);
  assert.is(report.hosts.find((h) => h.node === 'w-1')!.checks.length, 1);
  assert.is(checkOf(report, 'w-2', 'reachable').status, 'fail');
  assert.match(checkOf(report, 'w-2', 'reachable').message, /^w-2 \(10\.231\.\d+\.\d+\): cannot connect: .*Connection refused/);
  // cp-1 was read in full; with w-1 unread, its product_uuid is no longer a known duplicate.
  assert.is(checkOf(report, 'cp-1', 'reachable').status, 'ok');
  assert.is(checkOf(report, 'cp-1', 'swap').status, 'fail');
  assert.is(checkOf(report, 'cp-1', 'unique-product-uuid').status, 'ok');
  assert.is(report.hosts.find((h) => h.node === 'cp-1')!.checks.length, 11);

  // check --remote: the two hosts it cannot read are findings; cp-1 is still read.
  assert.ok(storeOut, 'the check --remote test ran first');
  const r = kpki(['check', '--out', storeOut!, '--plan', planFile, '--remote', '--ssh-config', bed.sshConfig, '--json']);
  const findings = (JSON.parse(r.stdout) as { findings: Array<{ code: string; file: string; message: string }> }).findings;
  const unreachable = findings.filter((f) => f.code === 'remote-unreachable');
  assert.equal(unreachable.map((f) => f.file), ['nodes/w-1', 'nodes/w-2']);
  assert.ok(unreachable[0]!.message.includes(fp));
  assert.ok(findings.some((f) => f.code === 'remote-stale' && f.file === 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt'));
  assert.is(r.status, 2);

  // The install engine: the two hosts fail, each with its reason; cp-1 gets its apiserver.crt back (backed up first).
  const transport = openSshTransport({ configFile: bed.sshConfig });
  try {
    const prefix = join(storeOut!, 'nodes');
    const sets = ['cp-1', 'w-1', 'w-2'].map((host) => ({
      host, files: [{ path: 'etc/kubernetes/pki/apiserver.crt', mode: 0o644, content: readFileSync(join(prefix, 'cp-1/etc/kubernetes/pki/apiserver.crt'), 'utf8') }],
    }));
    const rep = await installHosts(sets, { transport, target: (node) => ({ name: node, host: bed.host(node).address }), backupStamp: 'again' });
    assert.is(rep.exitCode, 1);
    assert.equal(rep.hosts.map((h) => h.status), ['changed', 'failed', 'failed']);
    assert.equal(rep.hosts[0]!.files.map((f) => `${f.action} ${f.backup}`), ['changed var/backups/kpki/again/etc/kubernetes/pki/apiserver.crt']);
    assert.ok(rep.hosts[1]!.error!.includes(fp));
    assert.match(rep.hosts[2]!.error!, /cannot connect: .*Connection refused/);
    assert.match(renderInstall(rep), /^w-2  FAILED  w-2 \(10\.231\.\d+\.\d+\): cannot connect/m);
  } finally {
    await transport.close();
  }
});

t.run();
