/** KubeletConfiguration and KubeProxyConfiguration: file fields from the flag table, the rest from the plan. */
import { createRequire } from 'node:module';
import type { PlanNode } from '../../pki/plan/types.js';
import { KUBE_PROXY_CONFIG_FILES, KUBELET_CONFIG_FILES, type ConfigFileField } from '../flags.js';
import { filePath, type RenderContext } from './context.js';

type Doc = Record<string, unknown>;

// Required when first used, not imported: the bundled CLI then loads js-yaml only for install.
let dumper: typeof import('js-yaml').dump | undefined;
const dump = (doc: Doc, o: import('js-yaml').DumpOptions) => (dumper ??= (createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml')).dump)(doc, o);

function setIn(doc: Doc, path: readonly string[], value: unknown): void {
  let at = doc;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Doc;
  at[path[path.length - 1]!] = value;
}

function withFiles(ctx: RenderContext, doc: Doc, fields: readonly ConfigFileField[]): Doc {
  for (const f of fields) setIn(doc, f.path, filePath(ctx, f.value.file, f.value.part));
  return doc;
}

const yaml = (doc: Doc) => `# Written by kpki install.\n${dump(doc, { lineWidth: -1, noRefs: true })}`;

export function kubeletConfig(ctx: RenderContext): string {
  const doc: Doc = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true } },
    authorization: { mode: 'Webhook' },
    clusterDNS: [ctx.settings.clusterDNS],
    clusterDomain: ctx.plan.networking.dnsDomain,
    cgroupDriver: ctx.settings.cgroupDriver,
    // The CA-signed serving pair is the kubelet's own: no bootstrap of a serving certificate.
    serverTLSBootstrap: false,
  };
  // A config field from 1.27; before, the --container-runtime-endpoint flag (flags.ts).
  if (ctx.minor === undefined || ctx.minor >= 27) doc['containerRuntimeEndpoint'] = ctx.settings.containerRuntimeEndpoint;
  return yaml(withFiles(ctx, doc, KUBELET_CONFIG_FILES));
}

export function kubeProxyConfig(ctx: RenderContext, node: PlanNode): string {
  const doc: Doc = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    hostnameOverride: node.name,
    ...(ctx.plan.networking.podSubnets.length > 0 && { clusterCIDR: ctx.plan.networking.podSubnets.map((c) => c.text).join(',') }),
  };
  return yaml(withFiles(ctx, doc, KUBE_PROXY_CONFIG_FILES));
}
