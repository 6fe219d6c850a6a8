/**
 * The RBAC bindings gen writes (pki/rbac.yaml), applied on the init node by a one-shot unit
 * with the break-glass credential once the first apiserver answers: kubectl apply is
 * idempotent, and the unit retries until the apiserver is up.
 */
import { inRelease, KUBECONFIGS } from '../../pki/catalog/entries.js';
import type { StagedFile } from '../types.js';
import { filePath, type RenderContext } from './context.js';
import { execStart, HEADER, UNIT_DIR } from './units.js';

export const RBAC_FILE = 'etc/kubernetes/kpki/rbac.yaml';
export const RBAC_UNIT = 'kpki-rbac.service';

/** super-admin.conf (system:masters) where the release has it, else admin.conf (system:masters before 1.29). */
export function breakGlass(ctx: RenderContext): string {
  const superAdmin = KUBECONFIGS.find((k) => k.id === 'super-admin.conf');
  const id = superAdmin && inRelease(superAdmin, ctx.plan) ? 'super-admin.conf' : 'admin.conf';
  return filePath(ctx, id, 'kubeconfig');
}

export function rbacFiles(ctx: RenderContext, rbac: string): StagedFile[] {
  const unit = `${HEADER}
[Unit]
Description=Apply kpki's RBAC bindings once the API server answers
Wants=kube-apiserver.service
After=kube-apiserver.service
StartLimitIntervalSec=0

[Service]
Type=oneshot
RemainAfterExit=yes
${execStart(`${ctx.settings.binDir}/kubectl`, [`--kubeconfig=${breakGlass(ctx)}`, 'apply', `--filename=/${RBAC_FILE}`])}
Restart=on-failure
RestartSec=10

[Install]
WantedBy=multi-user.target
`;
  return [
    { path: RBAC_FILE, mode: 0o644, content: rbac },
    { path: `${UNIT_DIR}/${RBAC_UNIT}`, mode: 0o644, content: unit },
  ];
}
