/**
 * `node dist/bench/reader.js [workers]`: how long the strict certificate reader takes over a real
 * kpki store, as a re-run meets it. Generates the 1-control-plane + N-worker ECDSA store with
 * `kpki gen` (N = 1000 by default: about 3,000 certificates), collects every certificate PEM
 * (files and kubeconfig client-certificate-data), then parses all of them with readCert:
 *  - cold: the first pass in a fresh process (what one `kpki gen` re-run pays), 7 processes;
 *  - warm: later passes in one process, median of 9.
 * Wall and CPU time (process.cpuUsage, all threads: the JIT compiles on a background thread)
 * are both shown: on a shared machine the CPU time is the steadier of the two. A fixed loop
 * is timed as well, to compare machines. Not part of `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCert } from '../pki/x509/read.js';
import { KPKI_MAIN, WORK_DIR } from './paths.js';
import { planYaml, workersPlan } from './plans.js';
import { median } from './stats.js';

const DIR = join(WORK_DIR, 'reader');
const PEMS = join(DIR, 'certs.json');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.isFile() ? [p] : [];
  });
}

/** Every distinct certificate PEM of a `kpki gen` output tree. */
function collect(out: string): string[] {
  const pems = new Set<string>();
  for (const file of walk(out)) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.crt')) pems.add(text);
    const m = /client-certificate-data: (\S+)/.exec(text);
    if (m) pems.add(Buffer.from(m[1] as string, 'base64').toString('utf8'));
  }
  return [...pems];
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function timeOnePass(pems: readonly string[]): Sample {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const pem of pems) n += readCert(pem, 'x.crt').parsed.der.length;
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  if (n === 0) throw new Error('nothing parsed');
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

function child(): void {
  const pems = JSON.parse(readFileSync(PEMS, 'utf8')) as string[];
  process.stdout.write(JSON.stringify(timeOnePass(pems)));
}

/** CPU time of a fixed 10^8-step loop: this machine's speed, to set the numbers above against others. */
function calibrationMs(): number {
  const c0 = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i;
  const c = process.cpuUsage(c0);
  if (x === 0) throw new Error('unreachable');
  return (c.user + c.system) / 1000;
}

function main(workers: number): void {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const plan = join(DIR, 'plan.yaml');
  writeFileSync(plan, planYaml(workersPlan(workers), 'ecdsa-p256'));
  const gen = spawnSync(process.execPath, [KPKI_MAIN, 'gen', '--plan', plan, '--out', join(DIR, 'out')], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`kpki gen failed: ${gen.stderr}`);
  const pems = collect(join(DIR, 'out'));
  writeFileSync(PEMS, JSON.stringify(pems));
  const cold = Array.from({ length: 7 }, (): Sample => {
    const r = spawnSync(process.execPath, [process.argv[1] as string, '--child'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as Sample;
  });
  const warm = Array.from({ length: 10 }, () => timeOnePass(pems)).slice(1);
  const fmt = (xs: readonly Sample[]): string => {
    const one = (k: keyof Sample): string => {
      const v = xs.map((x) => x[k]);
      return `${median(v).toFixed(1)} ms (${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)})`;
    };
    return `wall ${one('wallMs')}, CPU ${one('cpuMs')}`;
  };
  console.log(`${pems.length} certificates from a 1 + ${workers} ECDSA store, readCert (PEM → ParsedCert → profile), medians:`);
  console.log(`  cold, first pass in a fresh process (7 processes): ${fmt(cold)}`);
  console.log(`  warm, one process (9 passes):                      ${fmt(warm)}`);
  console.log(`  machine: a 10^8-step add loop takes ${calibrationMs().toFixed(0)} ms CPU`);
}

if (process.argv.includes('--child')) child();
else main(Number(process.argv[2] ?? 1000));
