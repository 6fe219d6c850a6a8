/** What a bench run measured; filled by run.ts, rendered by report.ts. */
import type { FloorMeasurement } from './floor.js';
import type { Alg } from './plans.js';
import type { ToolName } from './tools.js';
import type { VerifyResult } from './verify.js';

export type ToolState = 'ok' | 'invalid' | 'error' | 'unavailable';

export interface ToolResult {
  readonly tool: ToolName;
  state: ToolState;
  /** Wall times of the successful timed runs, ms. */
  readonly runsMs: number[];
  /** Error or unavailability reason. */
  note?: string;
  /** The first invalid verification, else the last one. */
  verify?: VerifyResult;
  /** Max peak RSS over the runs, KiB (kpki only). */
  peakRssKb?: number;
}

export interface ScenarioResult {
  readonly planId: string;
  readonly alg: Alg;
  readonly nodes: number;
  readonly keys: number;
  readonly certs: number;
  /**
   * The floor: key-generation time of exactly `keys` keys, all in flight, in a fresh node process
   * (startup excluded) = keys x per-key parallel time; one sample per interleaved round, ms.
   */
  readonly floorRunsMs: number[];
  readonly tools: ToolResult[];
  /** CPUs' worth of load from other processes during the scenario (see cpuload.ts). */
  readonly foreignCpus: number;
}

export interface FloorResult {
  readonly child: FloorMeasurement;
  readonly inProcess?: FloorMeasurement;
}

export interface ColdStart {
  readonly arg: string;
  readonly samplesMs: number[];
  readonly failure?: string;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly openssl: string;
  readonly cfssl: string;
  readonly kernel: string;
  readonly date: string;
  readonly loadAvgStart: string;
  /** CPUs' worth of load from other processes in a 1 s sample before the bench. */
  readonly foreignCpusAtStart: number;
  loadAvgEnd?: string;
}

export interface BenchReport {
  readonly machine: MachineInfo;
  readonly commandLine: string;
  readonly floors: Partial<Record<Alg, FloorResult>>;
  readonly nodeStartupMs: number;
  readonly coldStarts: ColdStart[];
  readonly scenarios: ScenarioResult[];
  durationS?: number;
}

export function scenarioLabel(s: { planId: string; alg: Alg }): string {
  return `${s.planId}/${s.alg}`;
}
