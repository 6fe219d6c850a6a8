/**
 * systemd units: one per component, ExecStart from the flag table (render/context.ts argsFor).
 * Every argument is unquoted: validation held every plan value to characters systemd takes
 * literally (no `$`, `%`, quotes, `\`, `;`, white space).
 */
import type { UnitComponent } from '../../pki/plan/types.js';

interface UnitMeta {
  readonly description: string;
  readonly documentation: string;
  /** Units it starts after (when present on the host). */
  readonly after: readonly string[];
  /** `notify`: the component tells systemd when it serves (etcd, kube-apiserver). */
  readonly type: 'notify' | 'simple';
}

const K8S_DOCS = 'https://kubernetes.io/docs/reference/command-line-tools-reference/';

export const UNIT_META: { readonly [C in UnitComponent]: UnitMeta } = {
  etcd: { description: 'etcd key-value store', documentation: 'https://etcd.io/docs/', after: ['network-online.target'], type: 'notify' },
  'kube-apiserver': { description: 'Kubernetes API server', documentation: `${K8S_DOCS}kube-apiserver/`, after: ['network-online.target', 'etcd.service'], type: 'notify' },
  'kube-controller-manager': { description: 'Kubernetes controller manager', documentation: `${K8S_DOCS}kube-controller-manager/`, after: ['kube-apiserver.service'], type: 'simple' },
  'kube-scheduler': { description: 'Kubernetes scheduler', documentation: `${K8S_DOCS}kube-scheduler/`, after: ['kube-apiserver.service'], type: 'simple' },
  kubelet: { description: 'Kubernetes node agent', documentation: `${K8S_DOCS}kubelet/`, after: ['network-online.target', 'containerd.service'], type: 'simple' },
  'kube-proxy': { description: 'Kubernetes network proxy', documentation: `${K8S_DOCS}kube-proxy/`, after: ['network-online.target'], type: 'simple' },
};

export const UNIT_DIR = 'etc/systemd/system';
export const HEADER = '# Written by kpki install; a re-run replaces changes made here (use the plan\'s extraFlags).';

/** ExecStart continued over lines, one argument a line. */
export function execStart(binary: string, args: readonly string[]): string {
  return [`ExecStart=${binary}`, ...args.map((a) => `  ${a}`)].join(' \\\n');
}

export function componentUnit(component: UnitComponent, binDir: string, args: readonly string[]): string {
  const m = UNIT_META[component];
  return `${HEADER}
[Unit]
Description=${m.description}
Documentation=${m.documentation}
Wants=network-online.target
After=${m.after.join(' ')}

[Service]
Type=${m.type}
${execStart(`${binDir}/${component}`, args)}
Restart=always
RestartSec=5
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
`;
}
