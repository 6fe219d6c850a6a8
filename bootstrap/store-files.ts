/** Reads what install renders from out of the store `kpki gen` wrote, through the disk sink. */
import { KpkiError } from '../pki/errors.js';
import type { Plan } from '../pki/plan/types.js';
import { diskSink } from '../pki/sinks/disk.js';
import type { StagedFile, StoreFiles } from './types.js';

const CA_CERT = 'pki/ca.crt';
const RBAC = 'pki/rbac.yaml';

export async function readStoreFiles(out: string, plan: Plan, hosts: readonly string[]): Promise<StoreFiles> {
  const trees = hosts.map((h) => `nodes/${h}`);
  const seen = await diskSink(out).observe([...trees, CA_CERT, RBAC]);
  const text = (path: string): string | undefined => {
    const f = seen.files.get(path);
    if (!f) return undefined;
    const content = f.content;
    if (content === undefined) throw new KpkiError('ERR_IO', `cannot read ${out}/${path}: ${f.error ?? 'not a regular file'}`);
    return content;
  };
  const caCert = text(CA_CERT);
  if (caCert === undefined) throw new KpkiError('ERR_BAD_ARGUMENT', `${out} holds no ${CA_CERT}: run kpki gen --plan ${plan.source} --out ${out} first`);
  const nodes = new Map<string, StagedFile[]>();
  for (const [path, f] of seen.files) {
    if (!path.startsWith('nodes/')) continue;
    const slash = path.indexOf('/', 6);
    const host = path.slice(6, slash);
    const content = text(path) ?? '';
    let list = nodes.get(host);
    if (!list) nodes.set(host, (list = []));
    list.push({ path: path.slice(slash + 1), mode: f.mode, content });
  }
  const rbac = text(RBAC);
  return { nodes, caCert, ...(rbac !== undefined && rbac.trim() !== '' && { rbac }) };
}
