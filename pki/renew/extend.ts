/**
 * `ca extend`: CAs re-signed by their own keys with a new NotAfter, through gen's pipeline (the
 * `extend` option of generate): each new certificate replaces the store's (backed up), every
 * node tree's copy and every kubeconfig's CA data; leaves, keys and the CA keys stay as they
 * are. The discovery hash is over the public key, so it does not change.
 */
import type { CaId } from '../catalog/types.js';
import { CAS } from '../catalog/entries.js';
import { resolve } from '../catalog/resolve.js';
import { KpkiError } from '../errors.js';
import { defaultDeps, generate, type GenerateOptions, type GenerateReport } from '../gen/generate.js';
import { LAYOUT_PATHS, nodeRoot } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { restartsFor, type ChangedCredential, type NodeRestarts } from './restarts.js';

export const CA_IDS: readonly CaId[] = CAS.map((c) => c.id);

export interface ExtendCaOptions extends Omit<GenerateOptions, 'renew' | 'extend' | 'prune'> {
  /** One or more CAs, extended together (several may have expired at once). */
  readonly cas: readonly CaId[];
  /** New lifetime from now; default the plan's caValidity. */
  readonly validityMs?: number;
}

export interface ExtendedCa {
  readonly ca: CaId;
  /** ISO 8601: the CA's NotAfter before and after. */
  readonly previousNotAfter: string;
  readonly notAfter: string;
  /** `sha256:<hex>` over the CA's public key: for `ca`, the (unchanged) discovery hash. */
  readonly publicKeyHash: string;
}

export interface ExtendCaReport extends GenerateReport {
  readonly extended: readonly ExtendedCa[];
  /** Per node, what must restart to load the new CA certificates or kubeconfigs. */
  readonly restarts: readonly NodeRestarts[];
}

export async function extendCa(plan: Plan, options: ExtendCaOptions): Promise<ExtendCaReport> {
  const unknown = options.cas.filter((c) => !CA_IDS.includes(c));
  if (unknown.length || !options.cas.length) throw new KpkiError('ERR_USAGE', `${unknown.length ? `unknown CA '${unknown.join("', '")}'` : 'name a CA to extend'}; the CAs are ${CA_IDS.join(', ')}`);
  const now = (options.deps?.now ?? defaultDeps().now)();
  const notAfter = new Date(now.getTime() + (options.validityMs ?? plan.pki.caValidityMs));
  const report = await generate(plan, { ...options, extend: { cas: options.cas, notAfter } });
  const extended = report.extended ?? [];
  const changed: ChangedCredential[] = [];
  for (const n of plan.nodes) {
    for (const e of extended) {
      const path = `${nodeRoot(n.name)}/${LAYOUT_PATHS[plan.layout](e.ca, 'crt')}`;
      if (report.files.some((f) => f.path === path && (f.action === 'updated' || f.action === 'created'))) changed.push({ node: n.name, id: e.ca });
    }
  }
  for (const i of report.items) if (i.node !== undefined && i.action !== 'keep') changed.push({ node: i.node, id: i.id });
  const byCa = new Map(extended.map((e) => [e.ca as string, e]));
  return {
    ...report,
    items: report.items.map((i) => {
      const e = i.kind === 'ca' ? byCa.get(i.id) : undefined;
      return e ? { ...i, action: 'rewrite', reasons: [`extended: NotAfter ${e.previousNotAfter.slice(0, 10)} → ${e.notAfter.slice(0, 10)}, same subject and key`] } : i;
    }),
    extended,
    restarts: restartsFor(changed, resolve({ ...plan, initNode: report.initNode })),
  };
}
