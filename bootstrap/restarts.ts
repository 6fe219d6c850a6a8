/**
 * What `kpki install` does with systemd after a host's files changed, derived from what it
 * rendered, not from a second hand-written list: a unit restarts when its unit file, a file
 * its unit names (ExecStart flags, `--config`), a file one of those names (the kubelet's
 * config names its serving pair) or a file the catalog says its component reads (`readBy`)
 * changed; the binaries a host needs are the ones its units start (plus etcdctl beside etcd
 * and kubectl on control planes). Pure.
 */
import { CATALOG } from '../pki/catalog/entries.js';
import type { CatalogId } from '../pki/layout/cfssl-names.js';
import type { Part } from '../pki/layout/layout.js';
import type { Plan } from '../pki/plan/types.js';
import { renderContext } from './render/context.js';
import { HAPROXY_CA, HAPROXY_CONFIG } from './render/haproxy.js';
import { KEEPALIVED_CONFIG } from './render/keepalived.js';
import { UNIT_DIR } from './render/units.js';
import type { HostFiles } from './types.js';

export interface HostRestarts {
  /** Whether any unit file changed (`systemctl daemon-reload`). */
  readonly daemonReload: boolean;
  /** Units whose unit file is new or changed (`systemctl enable`), in start order. */
  readonly enable: readonly string[];
  /** Units to (re)start, in start order. */
  readonly units: readonly string[];
}

const PARTS: readonly Part[] = ['crt', 'key', 'pub', 'kubeconfig'];

/** Absolute paths a text names (`/etc/kubernetes/pki/ca.crt`), root-relative. */
function pathsNamed(text: string): string[] {
  return [...text.matchAll(/(?:^|[\s="':,])\/((?:[\w.@+-]+\/)*[\w.@+-]+)/g)].map((m) => m[1]!);
}

/** Per host: which units read which root-relative path (the unit file itself included). */
export function unitInputs(plan: Plan, host: HostFiles): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  const add = (path: string, unit: string) => {
    let s = byPath.get(path);
    if (!s) byPath.set(path, (s = new Set()));
    s.add(unit);
  };
  const content = new Map(host.files.map((f) => [f.path, f.content]));
  for (const unit of host.units) {
    const file = `${UNIT_DIR}/${unit}`;
    add(file, unit);
    const named = pathsNamed(content.get(file) ?? '');
    for (const p of named) {
      add(p, unit);
      // One level further: a config or kubeconfig the unit names may name files of its own.
      for (const q of pathsNamed(content.get(p) ?? '')) add(q, unit);
    }
  }
  // The catalog's readBy: the component's unit restarts when a file of the entry changes.
  const ctx = renderContext(plan);
  for (const entry of CATALOG) {
    for (const component of entry.readBy) {
      const unit = `${component}.service`;
      if (!host.units.includes(unit)) continue;
      for (const part of PARTS) {
        const p = ctx.layout(entry.id as CatalogId, part);
        if (p !== undefined) add(p, unit);
      }
    }
  }
  return byPath;
}

/** The load balancer's services come from the distribution's packages (their units are not kpki's): what they read. */
const PACKAGED: ReadonlyArray<readonly [string, string]> = [[HAPROXY_CONFIG, 'haproxy.service'], [HAPROXY_CA, 'haproxy.service'], [KEEPALIVED_CONFIG, 'keepalived.service']];

/** The restart plan of a host given the root-relative paths that changed on it. */
export function restartsFor(plan: Plan, host: HostFiles): (changed: readonly string[]) => HostRestarts {
  const inputs = unitInputs(plan, host);
  return (changed) => {
    const hit = new Set<string>();
    for (const p of changed) for (const u of inputs.get(p) ?? []) hit.add(u);
    const unitFiles = new Set(changed.filter((p) => p.startsWith(`${UNIT_DIR}/`)).map((p) => p.slice(UNIT_DIR.length + 1)));
    const packaged = [...new Set(PACKAGED.filter(([p]) => changed.includes(p)).map(([, u]) => u))];
    return {
      daemonReload: unitFiles.size > 0,
      enable: [...host.units.filter((u) => unitFiles.has(u)), ...packaged],
      units: [...host.units.filter((u) => hit.has(u)), ...packaged],
    };
  };
}

/** The binaries a host's units start, by file name, plus etcdctl beside etcd and kubectl on control planes. */
export function binariesFor(plan: Plan, host: HostFiles): string[] {
  const binDir = renderContext(plan).settings.binDir;
  const names = new Set<string>();
  for (const f of host.files) {
    if (!f.path.startsWith(`${UNIT_DIR}/`)) continue;
    for (const m of f.content.matchAll(/^ExecStart=(\S+)/gm)) {
      const bin = m[1]!;
      if (bin.startsWith(`${binDir}/`)) names.add(bin.slice(binDir.length + 1));
    }
  }
  if (names.has('etcd')) names.add('etcdctl');
  if (host.roles.includes('control-plane')) names.add('kubectl');
  return [...names].sort();
}
