/**
 * kpki's SSH install engine next to ansible-playbook (Debian's ansible-core) copying the same
 * files to the same test-bed hosts (needs root: test/support/testbed.ts), measured in the same
 * run. The file sets are gen's node trees of 3 control planes + (N - 3) workers. Each timing
 * opens its own connections (a new transport, a new ansible run). Every run must do what it
 * should (all hosts changed / all unchanged), so a fast wrong answer cannot pass.
 * `node dist/bench/ssh-install.js [--hosts 20] [--parallel 10]`.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parsePlan } from '../pki/plan/parse.js';
import { generateFiles } from '../pki/gen/generate.js';
import { installHosts, type HostFileSet } from '../pki/install/install.js';
import { writeAnsible } from '../pki/install/ansible.js';
import { openSshTransport } from '../pki/sinks/ssh-transport.js';
import { startTestBed } from '../test/support/testbed.js';
import { run } from '../test/support/proc.js';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '20' }, parallel: { type: 'string', default: '10' } } });
const n = Math.max(4, Number(values.hosts));
const parallel = Math.max(1, Number(values.parallel));

const names = Array.from({ length: n }, (_, i) => (i < 3 ? `cp-${i + 1}` : `w-${i - 2}`));
const bed = await startTestBed(names.map((name) => ({ name })));
try {
  const plan = parsePlan(`apiVersion: kpki/v1alpha1\nkind: Cluster\ncontrolPlaneEndpoint: k8s.bench.test:6443\nnodes:\n${bed.hosts
    .map((h) => `  - { name: ${h.name}, address: ${h.address}, roles: [${h.name.startsWith('cp-') ? 'control-plane' : 'worker'}] }`).join('\n')}\n`, 'bench.yaml');
  const { files } = await generateFiles(plan);
  const sets: HostFileSet[] = names.map((host) => ({
    host,
    files: [...files].filter(([p]) => p.startsWith(`nodes/${host}/`)).map(([p, f]) => ({ path: p.slice(`nodes/${host}/`.length), mode: f.mode, content: f.content })),
  }));
  const fileCount = sets.reduce((a, s) => a + s.files.length, 0);
  const target = (node: string) => ({ name: node, host: bed.host(node).address });
  const kpkiRun = async (expect: 'changed' | 'unchanged') => {
    const transport = openSshTransport({ configFile: bed.sshConfig });
    const t = performance.now();
    try {
      const r = await installHosts(sets, { transport, target, parallel });
      const ms = performance.now() - t;
      const bad = r.hosts.filter((h) => h.status !== expect);
      if (bad.length) throw new Error(`kpki: ${bad.map((h) => `${h.node} ${h.status} ${h.error ?? ''}`).join('; ')}`);
      return ms;
    } finally {
      await transport.close();
    }
  };
  const wipe = () => Promise.all(bed.hosts.map((h) => bed.exec(h.name, ['rm', '-rf', '/etc/kubernetes', '/var/lib/kubelet'])));

  const kpkiFresh = await kpkiRun('changed');
  const kpkiAgain = await kpkiRun('unchanged');
  await wipe();

  const dir = mkdtempSync(join(tmpdir(), 'kpki-bench-ansible-'));
  writeAnsible(join(dir, 'pb'), sets, { target });
  const env = {
    ...process.env, ANSIBLE_CONFIG: join(dir, 'pb', 'ansible.cfg'), ANSIBLE_HOME: join(dir, 'home'), ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    ANSIBLE_SSH_ARGS: `-F ${bed.sshConfig} -o ControlMaster=auto -o ControlPersist=60s`, ANSIBLE_REMOTE_TMP: '/run/kpki-ansible-tmp',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORKS: String(parallel), ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
  };
  const ansibleRun = async (expectChanged: boolean) => {
    const t = performance.now();
    const r = await run('ansible-playbook', ['playbook.yml'], { cwd: join(dir, 'pb'), env, boundMs: 1_800_000 });
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
  rmSync(dir, { recursive: true, force: true });

  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`| ${n} test-bed hosts, ${fileCount} files, parallel ${parallel} | kpki (installHosts) | ansible-playbook (ansible-core) | ratio |`);
  console.log('|---|---|---|---|');
  console.log(`| fresh hosts | ${s(kpkiFresh)} | ${s(ansibleFresh)} | ${(ansibleFresh / kpkiFresh).toFixed(1)}× |`);
  console.log(`| re-run, nothing to change | ${s(kpkiAgain)} | ${s(ansibleAgain)} | ${(ansibleAgain / kpkiAgain).toFixed(1)}× |`);
} finally {
  bed.teardown();
}
