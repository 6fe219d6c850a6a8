/**
 * The key-generation floor: how fast this machine can generate keys at all, with Node's async
 * crypto.generateKeyPair and every key in flight at once (so the libuv pool keeps all cores
 * busy). Per-key parallel time = wall time of K concurrent generations / K. The floor of a plan
 * is keys(plan) x per-key parallel time: no tool that generates fresh keys can beat it.
 *
 * Run directly (`node dist/bench/floor.js --alg rsa-2048 --keys 64 --reps 3`) it measures in its
 * own fresh process and prints JSON; run.ts does that so the floor is measured the same way kpki
 * runs (a new node process), and also measures once in-process for comparison.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ALGS, type Alg } from './plans.js';
import { FLOOR_JS } from './paths.js';
import { timedRun } from './proc.js';
import { median, min } from './stats.js';

export interface FloorMeasurement {
  readonly alg: Alg;
  /** Keys generated concurrently per repetition. */
  readonly keys: number;
  /** Per-key parallel time of each repetition, ms. */
  readonly perKeyMs: number[];
  readonly medianPerKeyMs: number;
  readonly minPerKeyMs: number;
  /** Wall time of the measuring child process (startup included), when measured in a child. */
  readonly processWallMs?: number;
}

function generateOne(alg: Alg): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => (err ? reject(err) : resolve(priv));
    if (alg === 'ecdsa-p256') generateKeyPair('ec', { namedCurve: 'P-256' }, cb);
    else generateKeyPair('rsa', { modulusLength: 2048 }, cb);
  });
}

/** Wall time (ms) to generate `count` keys, all in flight at once. */
export async function generateKeysInFlight(alg: Alg, count: number): Promise<number> {
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: count }, () => generateOne(alg)));
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function measureFloorInProcess(alg: Alg, keys: number, reps: number): Promise<FloorMeasurement> {
  const perKeyMs: number[] = [];
  for (let i = 0; i < reps; i++) perKeyMs.push((await generateKeysInFlight(alg, keys)) / keys);
  return { alg, keys, perKeyMs, medianPerKeyMs: median(perKeyMs), minPerKeyMs: min(perKeyMs) };
}

/** The same measurement in a fresh `node` child process. */
export function measureFloorInChild(alg: Alg, keys: number, reps: number): FloorMeasurement {
  const r = timedRun(process.execPath, [FLOOR_JS, '--alg', alg, '--keys', String(keys), '--reps', String(reps)]);
  if (r.status !== 0) throw new Error(`floor child failed: ${r.stderr.trim()}`);
  const m = JSON.parse(r.stdout) as FloorMeasurement;
  return { ...m, processWallMs: r.wallMs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      alg: { type: 'string', default: 'ecdsa-p256' },
      keys: { type: 'string', default: '100' },
      reps: { type: 'string', default: '3' },
    },
  });
  const alg = ALGS.find((a) => a === values.alg);
  if (!alg) throw new Error(`--alg must be one of ${ALGS.join(', ')}`);
  const m = await measureFloorInProcess(alg, Number(values.keys), Number(values.reps));
  process.stdout.write(JSON.stringify(m) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
