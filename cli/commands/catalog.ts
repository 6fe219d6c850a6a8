/** `kpki catalog` and `kpki schema`: the catalog and the plan schema, straight from their sources. */
import { CATALOG } from '../../pki/catalog/entries.js';
import { planSchema } from '../../pki/plan/schema.js';
import { EXIT } from '../exit.js';
import { table } from '../output/style.js';

/** `kubelet (kubeadm: init-node)`: the placement, and where deploy: kubeadm differs. */
function nodes(e: (typeof CATALOG)[number], own: string): string {
  return e.kubeadm ? `${own} (kubeadm: ${e.kubeadm.on.join(',') || 'none'})` : own;
}

function describe(e: (typeof CATALOG)[number]) {
  switch (e.kind) {
    case 'ca':
      return { id: e.id, kind: e.kind, signer: 'self', nodes: nodes(e, e.certOn.join(',')), path: `${e.stem}.crt`, title: e.title };
    case 'keypair':
      return { id: e.id, kind: e.kind, signer: '-', nodes: e.on.join(','), path: `${e.stem}.key/.pub`, title: e.title };
    case 'cert':
      return { id: e.id, kind: e.kind, signer: e.signer, nodes: e.on, path: `${e.path}.crt`, title: e.title };
    case 'kubeconfig':
      return { id: e.id, kind: e.kind, signer: e.signer, nodes: nodes(e, e.on), path: e.path, title: e.title };
  }
}

export async function catalog(o: { json: boolean }): Promise<number> {
  const rows = CATALOG.map(describe);
  if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(`${table(['ID', 'KIND', 'SIGNER', 'NODES', 'PATH', 'WHAT'], rows.map((r) => [r.id, r.kind, r.signer, r.nodes, r.path, r.title]))}\n`);
  return EXIT.ok;
}

export async function schema(): Promise<number> {
  process.stdout.write(`${JSON.stringify(planSchema, null, 2)}\n`);
  return EXIT.ok;
}
