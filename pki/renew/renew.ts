/**
 * `renew`: gen's pipeline with one more decision. The request (ids, nodes, expiry window,
 * whether to keep keys) goes to decide as a policy (decide.ts `RenewRequest`); observe,
 * issue, render, the file planner, the sink, backups, the lock and the record are gen's. What
 * this adds: checking the request against the catalog and the plan before anything is read,
 * and, after, what each node must restart to pick the new files up.
 */
import { CAS, CERTS, KEYPAIRS, KUBECONFIGS } from '../catalog/entries.js';
import { resolve } from '../catalog/resolve.js';
import type { RenewRequest } from '../decide/decide.js';
import { KpkiError } from '../errors.js';
import { generate, type GenerateOptions, type GenerateReport } from '../gen/generate.js';
import type { Plan } from '../plan/types.js';
import { restartsFor, type NodeRestarts } from './restarts.js';

export type { RenewRequest };

/** The catalog's leaf ids: what `renew` accepts, besides `all`. */
export const LEAF_IDS: readonly string[] = [...CERTS, ...KUBECONFIGS].map((e) => e.id);

export interface RenewOptions extends Omit<GenerateOptions, 'renew' | 'extend' | 'prune'>, RenewRequest {}

export interface RenewReport extends GenerateReport {
  /** Leaves issued (or, dry, to be issued) by this run. */
  readonly renewed: number;
  /** Per node, what must restart or be handed out again to pick the new files up. */
  readonly restarts: readonly NodeRestarts[];
}

/** The request's mistakes, one sentence each; empty when it names only what the plan has. */
export function requestErrors(plan: Plan, r: RenewRequest): string[] {
  const errors: string[] = [];
  if (r.ids !== 'all') {
    if (r.ids.length === 0) errors.push('name the certificates to renew (catalog ids, see kpki catalog) or all');
    const leaves = resolve(plan).leaves;
    for (const id of r.ids) {
      if (CAS.some((c) => c.id === id)) errors.push(`${id} is a CA: renew issues leaves; kpki ca extend ${id} gives a CA a new NotAfter`);
      else if (KEYPAIRS.some((k) => k.id === id)) errors.push(`${id} is the service-account key pair, not a certificate; renew leaves it as it is`);
      else if (!LEAF_IDS.includes(id)) errors.push(`unknown certificate id '${id}' (kpki catalog lists them)`);
      else if (!leaves.some((l) => l.entry.id === id)) errors.push(`${id}: no node of this plan has one (its Kubernetes release or deploy leaves it out)`);
    }
  }
  for (const n of r.nodes ?? []) if (!plan.nodes.some((p) => p.name === n)) errors.push(`node '${n}' is not in the plan`);
  return errors;
}

/**
 * Renews the selected leaves of a kpki store. A bad request (unknown id, a CA, a node not in
 * the plan) is refused before anything is read (ERR_USAGE); a store without its CAs is
 * refused (ERR_CA_MISSING).
 */
export async function renew(plan: Plan, options: RenewOptions): Promise<RenewReport> {
  const request: RenewRequest = { ids: options.ids, nodes: options.nodes, beforeMs: options.beforeMs, reuseKeys: options.reuseKeys };
  const errors = requestErrors(plan, request);
  if (errors.length) throw new KpkiError('ERR_USAGE', errors.join('\n'));
  const report = await generate(plan, { ...options, renew: request });
  const changed = report.items.filter((i) => i.node !== undefined && (i.action === 'issue' || i.action === 'rewrite'));
  return {
    ...report,
    renewed: changed.filter((i) => i.action === 'issue').length,
    restarts: restartsFor(changed.map((i) => ({ node: i.node!, id: i.id })), resolve({ ...plan, initNode: report.initNode })),
  };
}
