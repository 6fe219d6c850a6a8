/**
 * Applying a rendered file set to a directory (`--stage`): `<stage>/<host>/…` and
 * `<stage>/hosts.txt`, through the disk sink and the pure change planner, so a second run with
 * the same inputs changes nothing and every replaced file is backed up first.
 */
import { planChanges } from '../pki/sinks/changes.js';
import { diskSink } from '../pki/sinks/disk.js';
import type { Applied, WantedFile } from '../pki/sinks/types.js';
import type { RenderResult } from './stage.js';

export const HOSTS_FILE = 'hosts.txt';

/** The stage's wanted files: each host's tree below its name, and the host list. */
export function stagedFiles(result: RenderResult): WantedFile[] {
  const wanted: WantedFile[] = [];
  for (const h of result.hosts) for (const f of h.files) wanted.push({ path: `${h.host}/${f.path}`, mode: f.mode, content: f.content, protected: false });
  wanted.push({ path: HOSTS_FILE, mode: 0o644, content: result.hostsTxt, protected: false });
  return wanted;
}

export async function applyStage(stage: string, result: RenderResult, backupStamp: string): Promise<Applied[]> {
  const sink = diskSink(stage);
  const trees = result.hosts.map((h) => h.host);
  const observed = await sink.observe([...trees, HOSTS_FILE]);
  const set = planChanges(stagedFiles(result), observed, {
    exact: trees,
    whyRemoved: () => 'the plan or the store no longer gives it to this host',
    root: stage,
  });
  // Not flushed: the stage is derived from the store, and a re-run rewrites whatever a crash lost.
  return sink.apply(set, { backupStamp, durable: false });
}
