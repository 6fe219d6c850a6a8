/**
 * `kpki install` over SSH next to ansible-playbook (Debian's ansible-core) copying the same
 * files to the same test-bed hosts (needs root: test/support/testbed.ts), measured in the same
 * run. The file sets are what `kpki install` renders for 3 control planes + (N - 3) workers
 * (node trees, units, configs); kpki is timed as the whole CLI process (`kpki install
 * --no-start`: the bed runs no systemd), ansible as `ansible-playbook` of `kpki install
 * --ansible` with `-e kpki_start=false`. Each timing opens its own connections. Every run must
 * do what it should (all hosts changed / all unchanged), so a fast wrong answer cannot pass;
 * after the playbook, kpki finds nothing to change (the same hashes and modes).
 * `node dist/bench/ssh-install.js [--hosts 20] [--parallel 10] [--kpki-only]` (--kpki-only: no ansible, a minute instead of ten).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startTestBed } from '../test/support/testbed.js';
import { run } from '../test/support/proc.js';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '20' }, parallel: { type: 'string', default: '10' }, 'kpki-only': { type: 'boolean', default: false } } });
const n = Math.max(4, Number(values.hosts));
const parallel = Math.max(1, Number(values.parallel));
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(dir, r) : [r];
  });
}

const names = Array.from({ length: n }, (_, i) => (i < 3 ? `cp-${i + 1}` : `w-${i - 2}`));
const bed = await startTestBed(names.map((name) => ({ name })));
const dir = mkdtempSync(join(tmpdir(), 'kpki-bench-ssh-'));
try {
  const plan = join(dir, 'cluster.yaml');
  writeFileSync(plan, `apiVersion: kpki/v1alpha1\nkind: Cluster\nkubernetesVersion: v1.31.2\ncontrolPlaneEndpoint: ${bed.hosts[0]!.address}:6443\nnodes:\n${bed.hosts
    .map((h) => `  - { name: ${h.name}, address: ${h.address}, roles: [${h.name.startsWith('cp-') ? 'control-plane' : 'worker'}] }`).join('\n')}\n`);
  const out = join(dir, 'out');
  const kpki = async (...args: string[]) => {
    const r = await run('node', [CLI, ...args], { boundMs: 600_000 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`kpki ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await kpki('gen', '-p', plan, '-o', out);
  await kpki('install', '-p', plan, '-o', out, '--stage', join(dir, 'staged'));
  const staged = new Map(names.map((h) => [h, listFiles(join(dir, 'staged', h))]));
  const fileCount = [...staged.values()].reduce((a, f) => a + f.length, 0);
  const bytes = [...staged].reduce((a, [h, fs]) => a + fs.reduce((b, f) => b + statSync(join(dir, 'staged', h, f)).size, 0), 0);

  const kpkiRun = async (expect: 'changed' | 'unchanged') => {
    const t = performance.now();
    const r = await kpki('install', '-p', plan, '-o', out, '--ssh-config', bed.sshConfig, '--parallel', String(parallel), '--no-start', '--json');
    const ms = performance.now() - t;
    const report = JSON.parse(r.stdout) as { hosts: Array<{ node: string; status: string; error?: string }> };
    const bad = report.hosts.filter((h) => h.status !== expect);
    if (bad.length || report.hosts.length !== n) throw new Error(`kpki: ${bad.map((h) => `${h.node} ${h.status} ${h.error ?? ''}`).join('; ')}`);
    return ms;
  };
  // Removes exactly what kpki put there (the bed's /etc is an overlay of this machine's).
  const wipe = () => Promise.all(names.map((h) => bed.exec(h, ['sh', '-c', `rm -f ${staged.get(h)!.map((p) => `'/${p}'`).join(' ')} && rm -rf /etc/kubernetes /var/lib/kubelet /var/lib/kube-proxy`])));

  const kpkiFresh = await kpkiRun('changed');
  const kpkiAgain = await kpkiRun('unchanged');
  const kpkiAgain2 = await kpkiRun('unchanged');
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  if (values['kpki-only']) {
    console.log(`| ${n} test-bed hosts, ${fileCount} files, parallel ${parallel} | kpki install (whole process) |\n|---|---|\n| fresh hosts | ${s(kpkiFresh)} |\n| re-run, nothing to change | ${s(kpkiAgain)} (again: ${s(kpkiAgain2)}) |`);
    bed.teardown();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  await wipe();

  await kpki('install', '-p', plan, '-o', out, '--ansible', join(dir, 'pb'));
  const env = {
    ...process.env, ANSIBLE_CONFIG: join(dir, 'pb', 'ansible.cfg'), ANSIBLE_HOME: join(dir, 'home'), ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    ANSIBLE_SSH_ARGS: `-F ${bed.sshConfig} -o ControlMaster=auto -o ControlPersist=60s`, ANSIBLE_REMOTE_TMP: '/run/kpki-ansible-tmp',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORKS: String(parallel), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
  };
  const ansibleRun = async (expectChanged: boolean) => {
    const t = performance.now();
    const r = await run('ansible-playbook', ['playbook.yml', '-e', 'kpki_start=false'], { cwd: join(dir, 'pb'), env, boundMs: 3_600_000 });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`ansible-playbook exited ${r.status}: ${r.stdout.slice(-2000)}${r.stderr}`);
    const changed = [...r.stdout.matchAll(/changed=(\d+)/g)].map((m) => Number(m[1]));
    if (changed.length !== n || changed.some((c) => (c > 0) !== expectChanged)) throw new Error(`ansible-playbook: unexpected recap\n${r.stdout.slice(-3000)}`);
    return ms;
  };
  const ansibleFresh = await ansibleRun(true);
  const ansibleAgain = await ansibleRun(false);
  // The playbook made what kpki makes: kpki finds nothing to change.
  await kpkiRun('unchanged');

  console.log(`| ${n} test-bed hosts, ${fileCount} files (${(bytes / 1024).toFixed(0)} KiB), parallel ${parallel} | kpki install (whole process) | ansible-playbook (ansible-core) | ratio |`);
  console.log('|---|---|---|---|');
  console.log(`| fresh hosts | ${s(kpkiFresh)} | ${s(ansibleFresh)} | ${(ansibleFresh / kpkiFresh).toFixed(1)}× |`);
  console.log(`| re-run, nothing to change | ${s(kpkiAgain)} (again: ${s(kpkiAgain2)}) | ${s(ansibleAgain)} | ${(ansibleAgain / kpkiAgain).toFixed(1)}× |`);
} finally {
  bed.teardown();
  rmSync(dir, { recursive: true, force: true });
}
