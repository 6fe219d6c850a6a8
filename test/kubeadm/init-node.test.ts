/**
 * One init-node rule: `kpki join-command` names the node `kubeadm init` runs on exactly as gen
 * chose it (the plan's `init: true`, else the node the store recorded, else the control plane
 * whose tree holds super-admin.conf), also after a plan edit and without the store's record.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir, writePlan } from '../support/cli.js';

const FIXTURE = readFileSync(join(FIXTURES, 'kubeadm-ha.yaml'), 'utf8');

test('after the plan drops init: true and reorders its control planes, gen and join-command keep the same init node', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', writePlan(FIXTURE, dir), '--out', out]).status, 0);
  // The edit: no `init: true`, cp-3 listed first.
  const cp = (n: number) => `  - name: cp-${n}.example.internal\n    address: 192.0.2.1${n}\n    roles: [control-plane]\n`;
  const edited = FIXTURE.replace(/^ *# kubeadm init runs here.*\n    init: true\n/m, '').replace(cp(1) + cp(2) + cp(3), cp(3) + cp(1) + cp(2));
  assert.ok(edited.indexOf('cp-3.example') < edited.indexOf('cp-1.example'), 'the edit took');
  assert.not.match(edited, 'init: true');
  const plan = join(dir, 'edited.yaml');
  writeFileSync(plan, edited);
  for (const withRecord of [true, false]) {
    // Without the record, super-admin.conf on cp-1's tree still says where init runs.
    if (!withRecord) rmSync(join(out, 'pki/record'));
    const gen = kpki(['gen', '--plan', plan, '--out', out, '--json']);
    assert.is(gen.status, 0, gen.stderr);
    assert.is((JSON.parse(gen.stdout) as { initNode: string }).initNode, 'cp-1.example.internal', `gen (record: ${withRecord})`);
    const init = kpki(['join-command', 'cp-1.example.internal', '--plan', plan, '--out', out]);
    assert.is(init.status, 2, `join-command (record: ${withRecord})`);
    assert.match(init.stderr, 'cp-1.example.internal is the init node');
    const first = kpki(['join-command', 'cp-3.example.internal', '--plan', plan, '--out', out]);
    assert.is(first.status, 0, first.stderr);
    assert.match(first.stdout, /^kubeadm join k8s-api\.example\.internal:6443 .* --control-plane .* --node-name cp-3\.example\.internal\n$/);
  }
});

test.run();
