/**
 * `kpki check --remote`: the store's node trees as the hosts actually hold them. Each node's
 * files are read over SSH (the SSH sink's observe: one `tar` of the directories that hold the
 * node tree's files) and put in place of the store's copy, so the audit judges what is on the
 * hosts (the report's NODE column names them); every file that differs from the store (missing,
 * other content, other mode or owner) is a finding of its own. A host that cannot be read keeps
 * the store's copy in the audit, with a critical finding saying so.
 */
import { finding, type Finding } from '../findings.js';
import type { Plan } from '../plan/types.js';
import { fileDigest } from '../sinks/digest.js';
import { coveringDirs, sshSink } from '../sinks/ssh.js';
import { nodeTarget, type Transport } from '../sinks/ssh-transport.js';
import type { ObservedFile } from '../sinks/types.js';
import { KpkiError } from '../errors.js';

export interface RemoteOptions {
  readonly transport: Transport;
  /** Node names; default every node of the plan. */
  readonly hosts?: readonly string[];
  /** Hosts read at once (default 10). */
  readonly parallel?: number;
}

const octal = (m: number) => m.toString(8).padStart(4, '0');

/** What differs between the store's file and the host's, as findings on the store path. */
function compare(node: string, path: string, hostPath: string, store: ObservedFile, host: ObservedFile | undefined): Finding[] {
  if (!host) return [finding('remote-missing', path, `${node}: /${hostPath} is not on the host`)];
  if (host.content === undefined) return [finding('remote-stale', path, `${node}: /${hostPath} cannot be read on the host (${host.error ?? 'not a regular file'})`)];
  const out: Finding[] = [];
  if (fileDigest(host) !== fileDigest(store)) out.push(finding('remote-stale', path, `${node}: /${hostPath} holds other content than the store's copy`));
  const owner = host.uid !== undefined && host.uid !== 0 ? `owner uid ${host.uid}, not root` : '';
  const mode = host.mode !== store.mode ? `mode ${octal(host.mode)}, the store's is ${octal(store.mode)}` : '';
  if (mode || owner) out.push(finding('remote-mode', path, `${node}: /${hostPath} has ${[mode, owner].filter(Boolean).join('; ')}`));
  return out;
}

/**
 * The store's files with each selected node's tree replaced by what its host holds, and the
 * findings for what differs. `files` is the store's observation (`pki/`, `nodes/`).
 */
export async function readRemote(plan: Plan, files: ReadonlyMap<string, ObservedFile>, o: RemoteOptions): Promise<{ files: Map<string, ObservedFile>; findings: Finding[] }> {
  const names = o.hosts?.length ? o.hosts : plan.nodes.map((n) => n.name);
  const nodes = names.map((name) => {
    const n = plan.nodes.find((x) => x.name === name);
    if (!n) throw new KpkiError('ERR_BAD_ARGUMENT', `--hosts: ${name} is not a node of ${plan.source}`);
    return n;
  });
  const merged = new Map(files);
  const findings: Finding[] = [];
  let next = 0;
  const worker = async () => {
    while (next < nodes.length) {
      const n = nodes[next++]!;
      const prefix = `nodes/${n.name}/`;
      const mine = [...files.keys()].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
      if (!mine.length) continue;
      let held: ReadonlyMap<string, ObservedFile>;
      try {
        held = (await sshSink(o.transport, nodeTarget(n)).observe(coveringDirs(mine))).files;
      } catch (err) {
        findings.push(finding('remote-unreachable', `nodes/${n.name}`, `${(err as Error).message}; the audit shows the store's copy of its files`));
        continue;
      }
      for (const rel of mine) {
        const path = `${prefix}${rel}`;
        const host = held.get(rel);
        findings.push(...compare(n.name, path, rel, files.get(path)!, host));
        if (host) merged.set(path, host);
        else merged.delete(path);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel ?? 10, nodes.length)) }, worker));
  return { files: merged, findings };
}
