/** Renders a BenchReport as markdown (printed to stdout and written to bench/RESULTS.md). */
import type { Alg } from './plans.js';
import type { BenchReport, ColdStart, ScenarioResult, ToolResult } from './results.js';
import { median, min } from './stats.js';

export interface Target {
  readonly name: string;
  readonly status: 'PASS' | 'FAIL' | 'N/A';
  readonly detail: string;
}

const RSS_LIMIT_KB = 300 * 1024;
const COLD_START_LIMIT_MS = 150;
/** w1000 may take at most this much longer than the straight line through w10 and w100. */
const GROWTH_TOLERANCE = 1.25;

// ---------------------------------------------------------------- formatting helpers

const sec = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(3) : '—');
function ratio(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return `${x >= 100 ? x.toFixed(0) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)}×`;
}
const mib = (kb: number | undefined): string => (kb === undefined ? '—' : `${(kb / 1024).toFixed(0)} MiB`);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function find(r: BenchReport, planId: string, alg: Alg): ScenarioResult | undefined {
  return r.scenarios.find((s) => s.planId === planId && s.alg === alg);
}

function tool(s: ScenarioResult | undefined, name: ToolResult['tool']): ToolResult | undefined {
  return s?.tools.find((t) => t.tool === name);
}

/** Median floor of a scenario, ms. */
function floorOf(s: ScenarioResult | undefined): number {
  return s ? median(s.floorRunsMs) : Number.NaN;
}

function okMedian(t: ToolResult | undefined): number {
  return t && t.state === 'ok' ? median(t.runsMs) : Number.NaN;
}

function certsCell(t: ToolResult): string {
  if (t.state === 'unavailable') return 'not run';
  if (t.state === 'error') return '**ERROR**';
  const v = t.verify;
  if (!v) return '—';
  const counts = `${v.verifiedCerts}/${v.expectedCerts}`;
  return t.state === 'invalid' ? `**INVALID** ${counts}` : `${counts}${v.warnings.length > 0 ? ' ⚠' : ''}`;
}

// ---------------------------------------------------------------- main table

function resultsTable(r: BenchReport): string {
  const rows: string[][] = [];
  for (const s of r.scenarios) {
    const kpki = okMedian(tool(s, 'kpki'));
    const floor = floorOf(s);
    const perKey = `${(floor / s.keys).toPrecision(3)} ms/key`;
    rows.push([s.planId, s.alg, 'floor', sec(floor), sec(min(s.floorRunsMs)), String(s.floorRunsMs.length), `(${s.keys} keys, ${perKey})`, '1.00×', ratio(floor / kpki)]);
    for (const t of s.tools) {
      const m = median(t.runsMs);
      const timed = t.state === 'ok' || t.state === 'invalid';
      rows.push([
        s.planId,
        s.alg,
        t.tool,
        timed ? sec(m) : '—',
        timed ? sec(min(t.runsMs)) : '—',
        String(t.runsMs.length),
        certsCell(t),
        timed ? ratio(m / floor) : '—',
        t.state === 'ok' ? ratio(m / kpki) : '—',
      ]);
    }
  }
  return table(['scenario', 'alg', 'tool', 'median s', 'min s', 'runs', 'certs (verified)', 'ratio vs floor', 'ratio vs kpki'], rows);
}

// ---------------------------------------------------------------- targets

export function evaluateTargets(r: BenchReport): Target[] {
  const haRsa = find(r, 'ha', 'rsa-2048');
  const haEc = find(r, 'ha', 'ecdsa-p256');
  const w1000Ec = find(r, 'w1000', 'ecdsa-p256');
  const w1000Rsa = find(r, 'w1000', 'rsa-2048');
  return [
    vsFloor('RSA ha: kpki ≤ 1.15× floor', haRsa, 1.15),
    speedupVsCfssl(haRsa, 1.8),
    absolute('ECDSA ha: kpki ≤ 0.3 s', haEc, 300),
    absolute('ECDSA w1000: kpki ≤ 2 s', w1000Ec, 2000),
    rss(w1000Ec),
    vsFloor('RSA w1000: kpki ≤ 1.1× floor (--full / --rsa-w1000)', w1000Rsa, 1.1),
    ...r.coldStarts.map(coldStartTarget),
    linearGrowth(r),
  ];
}

/** FAIL when kpki did not produce a verified result; N/A when the scenario was not run. */
function kpkiMedianOr(name: string, s: ScenarioResult | undefined): number | Target {
  if (!s) return { name, status: 'N/A', detail: 'scenario not run' };
  const k = tool(s, 'kpki');
  if (!k) return { name, status: 'N/A', detail: 'kpki not selected' };
  if (k.state !== 'ok') return { name, status: 'FAIL', detail: `kpki ${k.state}${k.note ? `: ${k.note}` : ''}` };
  return median(k.runsMs);
}

function pass(ok: boolean): 'PASS' | 'FAIL' {
  return ok ? 'PASS' : 'FAIL';
}

function vsFloor(name: string, s: ScenarioResult | undefined, limit: number): Target {
  const m = kpkiMedianOr(name, s);
  if (typeof m !== 'number') return m;
  const floor = floorOf(s);
  const x = m / floor;
  return { name, status: pass(x <= limit), detail: `${sec(m)} s = ${ratio(x)} floor (${sec(floor)} s)` };
}

function speedupVsCfssl(s: ScenarioResult | undefined, limit: number): Target {
  const name = `RSA ha: kpki ≥ ${limit}× faster than cfssl`;
  const m = kpkiMedianOr(name, s);
  if (typeof m !== 'number') return m;
  const c = okMedian(tool(s, 'cfssl'));
  if (!Number.isFinite(c)) return { name, status: 'N/A', detail: 'no valid cfssl result' };
  return { name, status: pass(c / m >= limit), detail: `cfssl ${sec(c)} s / kpki ${sec(m)} s = ${ratio(c / m)}` };
}

function absolute(name: string, s: ScenarioResult | undefined, limitMs: number): Target {
  const m = kpkiMedianOr(name, s);
  if (typeof m !== 'number') return m;
  return { name, status: pass(m <= limitMs), detail: `${sec(m)} s` };
}

function rss(s: ScenarioResult | undefined): Target {
  const name = 'ECDSA w1000: kpki peak RSS ≤ 300 MiB';
  const m = kpkiMedianOr(name, s);
  if (typeof m !== 'number') return m;
  const kb = tool(s, 'kpki')?.peakRssKb;
  if (kb === undefined) return { name, status: 'N/A', detail: 'RSS not measured' };
  return { name, status: pass(kb <= RSS_LIMIT_KB), detail: mib(kb) };
}

function coldStartTarget(c: ColdStart): Target {
  const name = `kpki ${c.arg} cold start ≤ ${COLD_START_LIMIT_MS} ms`;
  if (c.failure) return { name, status: 'FAIL', detail: c.failure };
  const m = median(c.samplesMs);
  return { name, status: pass(m <= COLD_START_LIMIT_MS), detail: `median ${m.toFixed(0)} ms of ${c.samplesMs.length}` };
}

interface GrowthPoint {
  readonly s: ScenarioResult;
  readonly ms: number;
}

function growthPoints(r: BenchReport): GrowthPoint[] {
  return ['w10', 'w100', 'w1000'].flatMap((id) => {
    const s = find(r, id, 'ecdsa-p256');
    const ms = okMedian(tool(s, 'kpki'));
    return s && Number.isFinite(ms) ? [{ s, ms }] : [];
  });
}

function linearGrowth(r: BenchReport): Target {
  const name = `ECDSA w10→w100→w1000: kpki grows linearly (w1000 ≤ ${GROWTH_TOLERANCE}× the w10–w100 line)`;
  const [a, b, c] = growthPoints(r);
  if (!a || !b || !c) return { name, status: 'N/A', detail: 'needs kpki results for w10, w100 and w1000' };
  const slope = (b.ms - a.ms) / (b.s.nodes - a.s.nodes);
  const predicted = b.ms + slope * (c.s.nodes - b.s.nodes);
  return {
    name,
    status: pass(c.ms <= GROWTH_TOLERANCE * predicted),
    detail: `w1000 ${sec(c.ms)} s vs line ${sec(predicted)} s (${slope.toFixed(2)} ms/node)`,
  };
}

function growthTable(r: BenchReport): string {
  const pts = growthPoints(r);
  if (pts.length === 0) return '_no kpki results for w10/w100/w1000_';
  const rows = pts.map((p, i) => {
    const prev = pts[i - 1];
    const marginal = prev ? (p.ms - prev.ms) / (p.s.nodes - prev.s.nodes) : Number.NaN;
    return [
      p.s.planId,
      String(p.s.nodes),
      String(p.s.certs),
      sec(p.ms),
      (p.ms / p.s.nodes).toFixed(2),
      Number.isFinite(marginal) ? marginal.toFixed(2) : '—',
      (p.ms / p.s.certs).toFixed(3),
    ];
  });
  return table(['plan', 'nodes', 'certs', 'kpki median s', 'ms / node', 'marginal ms / node', 'ms / cert'], rows);
}

// ---------------------------------------------------------------- other sections

/** Foreign CPU load above this (in CPUs) gets a warning. */
const BUSY_CPUS = 0.2;

function noiseLines(r: BenchReport): string[] {
  const cpus = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '?');
  const perScenario = r.scenarios.map((s) => `${s.planId}/${s.alg} ${cpus(s.foreignCpus)}`).join(', ');
  const worst = Math.max(r.machine.foreignCpusAtStart, ...r.scenarios.map((s) => s.foreignCpus));
  const lines = [
    `- CPU used by other processes (in CPUs of ${r.machine.cpus}): before start ${cpus(r.machine.foreignCpusAtStart)}; during ${perScenario}`,
  ];
  if (worst > BUSY_CPUS) lines.push(`- ⚠ other processes used up to ${cpus(worst)} CPUs during the bench: numbers are noisy, rerun on an idle machine`);
  return lines;
}

function floorLines(r: BenchReport): string[] {
  return Object.values(r.floors).map((f) => {
    const c = f.child;
    const inProc = f.inProcess ? `; in-process ${f.inProcess.medianPerKeyMs.toFixed(3)} ms` : '';
    return (
      `- floor per key (parallel, ${c.alg}), calibration before the scenarios: **${c.medianPerKeyMs.toFixed(3)} ms** median of` +
      ` ${c.perKeyMs.length} × ${c.keys} keys in flight in a child process (best ${c.minPerKeyMs.toFixed(3)} ms${inProc})`
    );
  });
}

function rssLines(r: BenchReport): string[] {
  const rows = r.scenarios.flatMap((s) => {
    const k = tool(s, 'kpki');
    return k?.peakRssKb !== undefined ? [`${s.planId}/${s.alg} ${mib(k.peakRssKb)}`] : [];
  });
  return [`- kpki peak RSS (max over runs, getrusage via preload hook): ${rows.length > 0 ? rows.join(', ') : '—'}`];
}

function coldStartLines(r: BenchReport): string[] {
  return r.coldStarts.map((c) =>
    c.failure
      ? `- \`kpki ${c.arg}\` cold start: failed (${c.failure})`
      : `- \`kpki ${c.arg}\` cold start: median **${median(c.samplesMs).toFixed(0)} ms** of ${c.samplesMs.length} spawns (min ${min(c.samplesMs).toFixed(0)} ms)`,
  );
}

function validationLines(r: BenchReport): string[] {
  const lines: string[] = [];
  for (const s of r.scenarios) {
    for (const t of s.tools) {
      const v = t.verify;
      const head = `- ${s.planId}/${s.alg} ${t.tool}: `;
      if (t.state === 'unavailable' || t.state === 'error') lines.push(`${head}**${t.state.toUpperCase()}** ${t.note ?? ''}`);
      if (!v) continue;
      const files = `${v.distinctCerts} distinct certs / ${v.distinctKeys} keys (expected ${v.expectedCerts} / ${v.expectedKeys}) from ${v.certFiles} cert files, ${v.keyFiles} key files, ${v.kubeconfigs} kubeconfigs; check ${v.verifyMs.toFixed(0)} ms`;
      lines.push(`${head}${t.state === 'invalid' ? '**INVALID** ' : ''}${files}`);
      for (const p of v.problems) lines.push(`  - ✗ ${p}`);
      for (const w of v.warnings) lines.push(`  - ⚠ profile: ${w}`);
    }
  }
  return lines;
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const targets = evaluateTargets(r);
  return [
    '# kpki benchmark results',
    '',
    `Generated by \`${r.commandLine}\` on ${m.date}${r.durationS !== undefined ? ` (bench took ${r.durationS.toFixed(0)} s)` : ''}.`,
    '',
    `- machine: ${m.cpus} CPUs (nproc), ${m.cpuModel}, Linux ${m.kernel}; load average at start ${m.loadAvgStart}, end ${m.loadAvgEnd ?? '?'}`,
    `- node ${m.node}; ${m.openssl}; cfssl ${m.cfssl}`,
    ...noiseLines(r),
    '',
    '## Wall time (whole process, fresh empty output dir each run)',
    '',
    resultsTable(r),
    '',
    'floor = time to generate exactly the plan\'s keys with crypto.generateKeyPair, all in flight, in a fresh',
    'node process (startup excluded), measured interleaved with the tool runs (see bench/README.md).',
    '',
    ...floorLines(r),
    `- node process startup (\`node -e 0\`, median of 10): ${r.nodeStartupMs.toFixed(0)} ms (included in kpki times, not in the floor)`,
    ...rssLines(r),
    ...coldStartLines(r),
    '',
    '## Targets',
    '',
    table(['target', 'result', 'measured'], targets.map((t) => [t.name, `**${t.status}**`, t.detail])),
    '',
    '## Growth with cluster size (ECDSA P-256, kpki)',
    '',
    growthTable(r),
    '',
    '## Output verification',
    '',
    'Every run of every tool is checked (see bench/README.md): all expected certificates present by',
    'issuer/CN/O/EKU/SANs, `openssl verify` of each against its CA, key type, private key present,',
    'service-account key pair. ⚠ marks profile deviations (keyUsage, validity, ...), listed here.',
    '',
    ...validationLines(r),
    '',
  ].join('\n');
}
