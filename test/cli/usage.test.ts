/**
 * Usage errors: one duration grammar for every flag and the plan, values checked for what they
 * feed, one usage-error status per command family, and "did you mean" before anything else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir, writePlan } from '../support/cli.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const dir = tempDir('kpki-usage-');
const out = join(dir, 'out');

test.after(() => rmSync(dir, { recursive: true, force: true }));

interface ErrorDoc { readonly kind: string; readonly error: { readonly code: string; readonly message: string; readonly exitCode: number } }
const errorDoc = (stdout: string) => JSON.parse(stdout) as ErrorDoc;

// What the grammar accepts, written here by hand: whole numbers with d, h, m, s or ms.
const UNITS = /units d, h, m, s or ms/;

test('every duration flag: the same grammar, the same sentence listing exactly what it accepts', () => {
  const messages: string[] = [];
  for (const args of [
    ['check', '--out', out, '--warn', '3weeks'],
    ['check', '--out', out, '--crit', '3weeks'],
    ['check', '--probe', '127.0.0.1:1', '--probe-timeout', '3weeks'],
    ['gen', '--plan', PLAN, '--out', out, '--dry-run', '--lock-timeout', '3weeks'],
  ]) {
    const r = kpki(args);
    const first = r.stderr.split('\n')[0]!;
    assert.match(first, UNITS, args.join(' '));
    assert.match(first, /"3weeks" is not a duration/);
    messages.push(first.replace(/--[a-z-]+:/, '--FLAG:'));
  }
  assert.is(new Set(messages).size, 1, messages.join('\n'));
  // Days are accepted by every flag; weeks and years by none, with the same hint everywhere.
  assert.is(kpki(['gen', '--plan', PLAN, '--out', out, '--dry-run', '--lock-timeout', '1d']).status, 0);
  for (const args of [['check', '--out', out, '--warn', '2w'], ['gen', '--plan', PLAN, '--out', out, '--lock-timeout', '1y']]) {
    assert.match(kpki(args).stderr, /weeks and years are not units; use days \(1w = 7d, 1y = 365d\)/, args.join(' '));
  }
});

test('the plan reads durations with the same grammar: 30d there too, 2w refused with the same hint', () => {
  const base = (pki: string) => `apiVersion: kpki/v1alpha1\nkind: Cluster\npki:\n${pki}\nnodes:\n  - { name: cp, address: 10.0.0.1, roles: [control-plane] }\n`;
  const days = kpki(['gen', '--dry-run', '--plan', writePlan(base('  certValidity: 365d\n  renewBefore: 30d'), tempDir()), '--out', join(dir, 'days')]);
  assert.is(days.status, 0, days.stderr);
  const weeks = kpki(['gen', '--plan', writePlan(base('  renewBefore: 2w'), tempDir()), '--out', join(dir, 'weeks')]);
  assert.is(weeks.status, 2);
  assert.match(weeks.stderr, /pki\.renewBefore: "2w": weeks and years are not units; use days/);
});

test('one usage-error status: 2 for every command, 3 (UNKNOWN) for check, wherever the error is found', () => {
  const cases: Array<[string[], number]> = [
    [['gen', '--plan', PLAN, '--lock-timeout', 'soon'], 2], // a flag value, parsed while reading flags
    [['gen', '--plan', PLAN, '--dry-runn'], 2], // an unknown flag
    [['check', '--out', out, '--warn', 'soon'], 3],
    [['check', '--out', out, '--warnn', '1d'], 3],
    [['check', '--out', out, '--warn', '1d', '--crit', '2d'], 3], // flags that contradict each other
    [['check', '--out', out, '--prometheus'], 3], // with --json below: two outputs
    [['check', '--probe', '127.0.0.1:1', '--probe-timeout', '0'], 3],
  ];
  for (const [args, status] of cases) {
    const r = kpki([...args, '--json']);
    assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    const doc = errorDoc(r.stdout);
    assert.is(doc.kind, 'Error');
    assert.is(doc.error.code, 'ERR_USAGE', args.join(' '));
    assert.is(doc.error.exitCode, status);
    assert.match(r.stderr, /Run `kpki --help` for usage\./);
  }
  // Without --json, check still says UNKNOWN on stdout, as monitoring plugins do.
  const plain = kpki(['check', '--out', out, '--warn', 'soon']);
  assert.match(plain.stdout, /^PKI UNKNOWN: --warn: "soon" is not a duration/);
});

test('--probe-timeout: positive and within what a timer can wait, else a usage error (never a RangeError or a 1 ms timer)', () => {
  for (const [value, why] of [['0', /--probe-timeout 0: must be longer than zero/], ['25d', /--probe-timeout 25d: at most 2147483647 ms/]] as const) {
    const r = kpki(['check', '--probe', '127.0.0.1:1', '--probe-timeout', value]);
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stderr, why);
    assert.not.match(r.stderr, /RangeError|TimeoutOverflowWarning|\n\s+at /);
  }
  // The largest a timer takes is accepted (the probe itself is refused at once by the closed port).
  const edge = kpki(['check', '--probe', '127.0.0.1:1', '--probe-timeout', '596h31m23s647ms', '--json']);
  assert.is(edge.status, 1, edge.stderr);
  assert.not.match(edge.stderr, /TimeoutOverflowWarning/);
});

test('typos: the nearest flag or command first, in one message', () => {
  const paln = kpki(['gen', '--paln', 'k.yaml']);
  assert.is(paln.status, 2);
  assert.is(paln.stderr, 'kpki: Unknown argument: paln. Did you mean --plan?\nRun `kpki --help` for usage.\n');
  const chek = kpki(['chek', '--out', 'x']);
  assert.is(chek.status, 2);
  assert.is(chek.stderr, 'kpki: Unknown argument: chek. Did you mean check?\nRun `kpki --help` for usage.\n');
  // The flags of a mistyped command are judged once it is named right.
  assert.is(kpki(['chek', '--outt', 'x']).stderr.split('\n')[0], 'kpki: Unknown argument: chek. Did you mean check?');
  const both = kpki(['check', '--ot', 'x', '--wran', '1d']);
  assert.is(both.status, 3);
  assert.match(both.stderr, /^kpki: Unknown argument: ot\. Did you mean --out\?\nUnknown argument: wran\. Did you mean --warn\?\n/);
  // Negated booleans and yargs' camel-case spellings are not typos.
  const spelled = kpki(['gen', '--plan', PLAN, '--out', join(dir, 'spelled'), '--no-prune', '--dryRun']);
  assert.is(spelled.status, 0, spelled.stderr);
});

test('check --out with a file: the one sentence gen says for it', () => {
  const file = join(dir, 'afile');
  writeFileSync(file, 'not a directory\n');
  const c = kpki(['check', '--out', file]);
  const g = kpki(['gen', '--plan', PLAN, '--out', file]);
  assert.is(c.status, 3);
  assert.is(g.status, 2);
  assert.is(c.stderr, `kpki: ${file} is not a directory (it is a file)\n`);
  assert.is(c.stderr, g.stderr);
  assert.not.match(c.stderr, /ENOTDIR|scandir/);
  const below = kpki(['check', '--out', join(file, 'sub')]);
  assert.is(below.stderr, `kpki: ${join(file, 'sub')} is not a directory (${file} is a file)\n`);
});

test.run();
