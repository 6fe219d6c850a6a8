/**
 * The bootstrap layer: from the store `kpki gen` wrote to what each host gets (systemd units,
 * component configs, the load balancer), rendered purely (stage.ts) and applied through a sink
 * (apply.ts: a directory today, SSH next).
 */
export { renderHosts, RESERVED_HOST_NAMES } from './stage.js';
export type { RenderResult } from './stage.js';
export { applyStage, stagedFiles, HOSTS_FILE } from './apply.js';
export { install } from './install.js';
export type { InstallOptions, InstallReport } from './install.js';
export { readStoreFiles } from './store-files.js';
export { COMPONENT_FLAGS, KUBELET_CONFIG_FILES, KUBE_PROXY_CONFIG_FILES, CONFIG_PATHS } from './flags.js';
export type { FlagSpec, FlagValue, Fact } from './flags.js';
export type { HostFiles, StagedFile, StoreFiles } from './types.js';
export { installRemote, renderForInstall, writeAnsibleHandOff } from './remote.js';
export type { RemoteInstallOptions, RemoteInstallReport } from './remote.js';
export { binariesFor, restartsFor, unitInputs } from './restarts.js';
export type { HostRestarts } from './restarts.js';
