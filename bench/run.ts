/**
 * `npm run bench [-- options]`: kpki vs a hand-written openssl script vs a cfssl script, against
 * the key-generation floor, on the same certificate set. See bench/README.md.
 *
 * Options: --full (everything, also BENCH_FULL=1), --rsa-w1000, --runs N, --plans ha,w10,...,
 * --algs ecdsa-p256,rsa-2048, --tools kpki,openssl,cfssl, --no-warmup, --results PATH, --no-write.
 */
import { cpus, availableParallelism, loadavg, release } from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSnapshot, foreignCpus, sampleForeignCpus } from './cpuload.js';
import { measureFloorInChild, measureFloorInProcess } from './floor.js';
import { RESULTS_FILE, WORK_DIR } from './paths.js';
import {
  ALGS,
  expectedCertCount,
  expectedKeyCount,
  expectedLeaves,
  haPlan,
  planYaml,
  scriptSpec,
  workersPlan,
  type Alg,
  type BenchPlan,
} from './plans.js';
import { commandOutput, failureText, succeeded, timedRun } from './proc.js';
import { evaluateTargets, renderMarkdown } from './report.js';
import { scenarioLabel, type BenchReport, type FloorResult, type MachineInfo, type ScenarioResult, type ToolResult } from './results.js';
import { max, median } from './stats.js';
import { kpkiColdStartSamples, runTool, TOOLS, unavailableReason, type ToolInputs, type ToolName } from './tools.js';
import { verifyOutput } from './verify.js';

interface Options {
  readonly full: boolean;
  readonly rsaW1000: boolean;
  readonly runs?: number;
  readonly plans?: readonly string[];
  readonly algs?: readonly string[];
  readonly tools: readonly ToolName[];
  readonly warmup: boolean;
  readonly resultsFile?: string;
}

interface ScenarioDef {
  readonly plan: BenchPlan;
  readonly alg: Alg;
  /** Timed runs per tool; a tool absent here is skipped for this scenario. */
  readonly runs: Partial<Record<ToolName, number>>;
}

/** Floor sample sizes: keys in flight per repetition, repetitions. */
const FLOOR_SAMPLE: Readonly<Record<Alg, { keys: number; reps: number }>> = {
  'ecdsa-p256': { keys: 2000, reps: 5 },
  'rsa-2048': { keys: 64, reps: 3 },
};
const COLD_START_SAMPLES = 10;

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      full: { type: 'boolean', default: false },
      'rsa-w1000': { type: 'boolean', default: false },
      runs: { type: 'string' },
      plans: { type: 'string' },
      algs: { type: 'string' },
      tools: { type: 'string' },
      'no-warmup': { type: 'boolean', default: false },
      results: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const list = (s: string | undefined): string[] | undefined => s?.split(',').map((x) => x.trim()).filter(Boolean);
  const tools = list(values.tools) ?? [...TOOLS];
  const unknown = tools.filter((t) => !TOOLS.some((k) => k === t));
  if (unknown.length > 0) throw new Error(`unknown tool(s) ${unknown.join(', ')}; use ${TOOLS.join(', ')}`);
  const runs = values.runs === undefined ? undefined : Math.max(1, Number(values.runs));
  const plans = list(values.plans);
  const algs = list(values.algs);
  return {
    full: values.full || process.env['BENCH_FULL'] === '1',
    rsaW1000: values['rsa-w1000'],
    tools: TOOLS.filter((t) => tools.includes(t)),
    warmup: !values['no-warmup'],
    ...(runs !== undefined && Number.isFinite(runs) ? { runs } : {}),
    ...(plans ? { plans } : {}),
    ...(algs ? { algs } : {}),
    ...(values['no-write'] ? {} : { resultsFile: values.results ?? RESULTS_FILE }),
  };
}

/**
 * The default set finishes in a few minutes on 2 cores. openssl/cfssl for w1000 (minutes each)
 * only with --full; RSA w1000 (kpki vs floor only, ~2-4 min per run) with --full or --rsa-w1000.
 */
function scenarioDefs(o: Options): ScenarioDef[] {
  const ha = haPlan();
  const all3 = (k: number, scripts: number = k): Partial<Record<ToolName, number>> => ({ kpki: k, openssl: scripts, cfssl: scripts });
  const defs: ScenarioDef[] = [
    { plan: ha, alg: 'ecdsa-p256', runs: all3(5) },
    { plan: ha, alg: 'rsa-2048', runs: all3(3) },
    { plan: workersPlan(10), alg: 'ecdsa-p256', runs: all3(5) },
    { plan: workersPlan(100), alg: 'ecdsa-p256', runs: all3(5, 3) },
    { plan: workersPlan(1000), alg: 'ecdsa-p256', runs: o.full ? all3(3, 1) : { kpki: 3 } },
  ];
  if (o.full || o.rsaW1000) defs.push({ plan: workersPlan(1000), alg: 'rsa-2048', runs: { kpki: 1 } });
  return defs
    .filter((d) => !o.plans || o.plans.includes(d.plan.id))
    .filter((d) => !o.algs || o.algs.includes(d.alg))
    .map((d) => ({ ...d, runs: selectRuns(d.runs, o) }));
}

function selectRuns(runs: Partial<Record<ToolName, number>>, o: Options): Partial<Record<ToolName, number>> {
  const out: Partial<Record<ToolName, number>> = {};
  for (const t of o.tools) {
    const n = runs[t];
    if (n !== undefined) out[t] = o.runs ?? n;
  }
  return out;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ---------------------------------------------------------------- machine and baselines

function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpus: availableParallelism(),
    cpuModel: model.trim(),
    node: process.version,
    openssl: commandOutput('openssl', ['version']) || 'openssl not found',
    cfssl: (commandOutput('cfssl', ['version']).split('\n')[0] ?? '').replace(/^Version:\s*/, '') || 'not found',
    kernel: release(),
    date: new Date().toISOString(),
    loadAvgStart: formatLoad(),
    foreignCpusAtStart: sampleForeignCpus(1000),
  };
}

function formatLoad(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

async function measureFloors(algs: readonly Alg[]): Promise<Partial<Record<Alg, FloorResult>>> {
  const floors: Partial<Record<Alg, FloorResult>> = {};
  for (const alg of algs) {
    const { keys, reps } = FLOOR_SAMPLE[alg];
    log(`floor ${alg}: ${reps} × ${keys} keys in flight (child process), then 1 × in-process`);
    const child = measureFloorInChild(alg, keys, reps);
    const inProcess = await measureFloorInProcess(alg, keys, 1);
    log(`  ${child.medianPerKeyMs.toFixed(3)} ms/key (in-process ${inProcess.medianPerKeyMs.toFixed(3)})`);
    floors[alg] = { child, inProcess };
  }
  return floors;
}

function nodeStartupMs(): number {
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) samples.push(timedRun(process.execPath, ['-e', '0']).wallMs);
  return median(samples);
}

// ---------------------------------------------------------------- scenarios

function writeInputs(def: ScenarioDef): ToolInputs {
  const dir = join(WORK_DIR, 'plans');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${def.plan.id}-${def.alg}`);
  writeFileSync(`${base}.yaml`, planYaml(def.plan, def.alg));
  writeFileSync(`${base}.env`, scriptSpec(def.plan, def.alg));
  return { planFile: `${base}.yaml`, specFile: `${base}.env` };
}

/**
 * Output directories are never reused or deleted between timed runs: on ext4 mounted with
 * `discard` (as here), creating files right after deleting a large tree is several times
 * slower, which would tax whichever run comes next. Everything is removed once, at the end.
 */
function newDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

function clearWorkOutputs(): void {
  for (const d of ['out', 'verify']) rmSync(join(WORK_DIR, d), { recursive: true, force: true });
}

/** Lets the kernel finish flushing and discarding before anything is timed. */
function settle(): void {
  spawnSync('sync');
  spawnSync('sleep', ['5']);
}

/** One untimed run of each tool on the small ha/ECDSA plan, so no timed run pays for a cold disk cache. */
function warmup(tools: readonly ToolName[]): void {
  const def: ScenarioDef = { plan: haPlan(), alg: 'ecdsa-p256', runs: {} };
  for (const t of tools) {
    log(`warm-up (untimed): ${t} ha/ecdsa-p256`);
    const out = join(WORK_DIR, 'out', 'warmup', t);
    newDir(out);
    runTool(t, writeInputs(def), out);
  }
}

function runScenario(def: ScenarioDef, unavailable: Map<ToolName, string>): ScenarioResult {
  const inputs = writeInputs(def);
  const cpuStart = cpuSnapshot();
  const label = scenarioLabel({ planId: def.plan.id, alg: def.alg });
  const keys = expectedKeyCount(def.plan);
  if (expectedLeaves(def.plan).length + 3 !== expectedCertCount(def.plan)) throw new Error(`${label}: certificate model and formula disagree`);
  const tools: ToolResult[] = [];
  const planned = TOOLS.filter((t) => def.runs[t] !== undefined);
  for (const t of planned) {
    const reason = unavailable.get(t);
    tools.push(reason ? { tool: t, state: 'unavailable', runsMs: [], note: reason } : { tool: t, state: 'ok', runsMs: [] });
  }
  // The floor is measured as one more participant: a fresh node process generating exactly this
  // plan's keys, all in flight. Everything is interleaved run by run so drifts in machine load
  // (other processes) hit all participants alike.
  const floorRuns = floorRunCount(def);
  const floorMs: number[] = [];
  const maxRuns = Math.max(floorRuns, ...planned.map((t) => def.runs[t] ?? 0));
  for (let i = 0; i < maxRuns; i++) {
    if (i < floorRuns) floorMs.push(runFloor(def.alg, keys, `${label} floor run ${i + 1}/${floorRuns}`));
    for (const r of tools) {
      if (r.state === 'unavailable' || r.state === 'error' || i >= (def.runs[r.tool] ?? 0)) continue;
      runAndVerify(def, inputs, r, `${label} ${r.tool} run ${i + 1}/${def.runs[r.tool]}`);
    }
  }
  return {
    planId: def.plan.id,
    alg: def.alg,
    nodes: def.plan.nodes.length,
    keys,
    certs: expectedCertCount(def.plan),
    floorRunsMs: floorMs,
    tools,
    foreignCpus: foreignCpus(cpuStart, cpuSnapshot()),
  };
}

/** As many floor runs as the tool with the most runs; at least 3 for ECDSA, where they are cheap. */
function floorRunCount(def: ScenarioDef): number {
  return Math.max(def.alg === 'ecdsa-p256' ? 3 : 1, ...Object.values(def.runs));
}

/** Key-generation time (ms, process startup excluded) of `keys` keys in a fresh child process. */
function runFloor(alg: Alg, keys: number, what: string): number {
  const m = measureFloorInChild(alg, keys, 1);
  const ms = m.medianPerKeyMs * keys;
  log(`${what}: ${(ms / 1000).toFixed(3)} s (${m.medianPerKeyMs.toFixed(3)} ms/key; process ${((m.processWallMs ?? 0) / 1000).toFixed(3)} s)`);
  return ms;
}

function runAndVerify(def: ScenarioDef, inputs: ToolInputs, r: ToolResult, what: string): void {
  const runDir = join(`${def.plan.id}-${def.alg}`, r.tool, `run-${r.runsMs.length + 1}`);
  const out = join(WORK_DIR, 'out', runDir);
  newDir(out);
  const run = runTool(r.tool, inputs, out);
  if (!succeeded(run)) {
    r.state = 'error';
    r.note = failureText(run);
    log(`${what}: ERROR ${r.note}`);
    return;
  }
  r.runsMs.push(run.wallMs);
  if (run.peakRssKb !== undefined) r.peakRssKb = max([r.peakRssKb ?? 0, run.peakRssKb]);
  const v = verifyOutput(out, def.plan, def.alg, join(WORK_DIR, 'verify', runDir));
  if (!v.valid && r.state !== 'invalid') {
    r.state = 'invalid';
    r.verify = v;
  } else if (r.state !== 'invalid') r.verify = v;
  const rss = run.peakRssKb !== undefined ? `, ${(run.peakRssKb / 1024).toFixed(0)} MiB` : '';
  const status = v.valid ? 'ok' : `INVALID: ${v.problems.join('; ')}`;
  log(`${what}: ${(run.wallMs / 1000).toFixed(3)} s${rss}, ${v.verifiedCerts}/${v.expectedCerts} certs ${status}`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const o = parseOptions(process.argv.slice(2));
  const defs = scenarioDefs(o);
  if (defs.length === 0) throw new Error('no scenario selected');
  const machine = machineInfo();
  const unavailable = new Map<ToolName, string>();
  for (const t of o.tools) {
    const reason = unavailableReason(t);
    if (reason) unavailable.set(t, reason);
  }
  clearWorkOutputs();
  settle();
  const floors = await measureFloors(ALGS.filter((a) => defs.some((d) => d.alg === a)));
  const startupMs = nodeStartupMs();
  const coldStarts = o.tools.includes('kpki')
    ? ['--help', '--version'].map((arg) => {
        const reason = unavailable.get('kpki');
        return reason ? { arg, samplesMs: [], failure: reason } : { arg, ...kpkiColdStartSamples(arg, COLD_START_SAMPLES) };
      })
    : [];
  if (o.warmup) warmup(o.tools.filter((t) => !unavailable.has(t) && defs.some((d) => d.runs[t] !== undefined)));
  const scenarios = defs.map((d) => runScenario(d, unavailable));
  machine.loadAvgEnd = formatLoad();

  const report: BenchReport = {
    machine,
    commandLine: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    floors,
    nodeStartupMs: startupMs,
    coldStarts,
    scenarios,
    durationS: Number(process.hrtime.bigint() - started) / 1e9,
  };
  clearWorkOutputs();
  const md = renderMarkdown(report);
  process.stdout.write(md);
  if (o.resultsFile) {
    writeFileSync(o.resultsFile, md);
    log(`wrote ${o.resultsFile}`);
  }
  const bad = scenarios.flatMap((s) => s.tools.filter((t) => t.state !== 'ok').map((t) => `${scenarioLabel(s)} ${t.tool}: ${t.state}`));
  const failed = evaluateTargets(report).filter((t) => t.status === 'FAIL').length;
  if (failed > 0) log(`${failed} target(s) FAIL`);
  if (bad.length > 0) {
    log(`NOT ALL TOOLS PRODUCED VERIFIED OUTPUT:\n  ${bad.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
