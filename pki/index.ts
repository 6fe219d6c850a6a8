/**
 * kpki's public library API. Everything here is a named export; types use `export type`.
 * Deep imports are not part of the API.
 */
export { loadPlan } from './plan/load.js';
export { parsePlan } from './plan/parse.js';
export { planSchema } from './plan/schema.js';
export { generate, generateFiles, defaultDeps, RBAC_PATH } from './gen/generate.js';
export { diskSink } from './sinks/disk.js';
export { memorySink } from './sinks/memory.js';
export { diskHostReader } from './sinks/disk-roots.js';
export { sshSink } from './sinks/ssh.js';
export { openSshTransport, nodeTarget, TransportError } from './sinks/ssh-transport.js';
export { preflight as preflightHosts, renderPreflight, PREFLIGHT_CHECKS } from './preflight/preflight.js';
export { installHosts, renderInstall } from './install/install.js';
export { ansibleFiles, writeAnsible, PLAYBOOK } from './install/ansible.js';
export { kubeadmConfigs, kubeadmApiVersion, CERTIFICATES_DIR } from './kubeadm/config.js';
export { preflightChecks, preflightViolations, PREFLIGHT_FILE_CHECKS } from './kubeadm/preflight.js';
export { rbacManifests } from './issue/rbac.js';
export { CFSSL_NAMES, cfsslPath } from './layout/cfssl-names.js';
export { parseKubernetesVersion, runsAtLeast } from './plan/version.js';
export { joinFacts, joinCommand, JOIN_PATH } from './kubeadm/join-secrets.js';
export { STARTER_PLAN } from './plan/starter.js';
export { resolve, selectNodes } from './catalog/resolve.js';
export { CATALOG, CAS, KEYPAIRS, CERTS, KUBECONFIGS } from './catalog/entries.js';
export { decide } from './decide/decide.js';
export { profileDiff } from './assess/leaf.js';
export { fileSpecs, leafPaths, LAYOUT_PATHS, NODE_CONFIGS } from './layout/layout.js';
export { renderKubeconfig, parseKubeconfig } from './kubeconfig/kubeconfig.js';
export { caCertHash, bootstrapToken, certificateKey } from './kubeadm/join.js';
export { KpkiError, PlanError, PemError, formatDiagnostic } from './errors.js';
export { renew, requestErrors, LEAF_IDS } from './renew/renew.js';
export { restartsFor, describeRestarts } from './renew/restarts.js';
export { extendCa, CA_IDS } from './renew/extend.js';
export { csr, requestPaths } from './renew/csr.js';
export { importSigned } from './renew/import.js';
export { createRequest, requestMatches } from './x509/csr.js';
export { renewRoot } from './renew/root.js';
export { extendCaRoot } from './renew/root-extend.js';
export { check } from './check/check.js';
export { audit } from './check/audit.js';
export { renderPrometheus } from './check/prometheus.js';
export { FINDINGS } from './findings.js';

export type { Plan, PlanInput, PlanNode, Role, KeyAlgorithm, Cidr, Endpoint, SubjectExtras, Deploy, Layout, LayoutDirs, LayoutInput, KubernetesVersion } from './plan/types.js';
export type {
  CatalogEntry, CaEntry, CertEntry, KubeconfigEntry, KeyPairEntry, LeafEntry, CaId, Usage, NodeSelector, Identity, SanInput, NodeContext,
} from './catalog/types.js';
export type { CertProfile, ResolvedPki, ResolvedCa, ResolvedLeaf, ResolvedKeyPair } from './catalog/resolve.js';
export type { GenerateOptions, GenerateReport, ReportItem, Action } from './gen/generate.js';
export type { Deps, KeyMaterial } from './deps.js';
export type { Decisions, LeafDecision, CaDecision, KeyPairDecision } from './decide/decide.js';
export type { FileSpec, FileSource, NodeLayout, Part } from './layout/layout.js';
export type { Sink, Observation, ObservedFile, WantedFile, Change, ChangeSet, Applied, AppliedAction, ApplyOptions, HostReader, HostObservation, ReadOnlyWalkOptions } from './sinks/types.js';
export type { MemoryFile, MemorySink } from './sinks/memory.js';
export type { SshSinkOptions } from './sinks/ssh.js';
export type { Transport, SshTarget, ExecResult, OpenSshOptions } from './sinks/ssh-transport.js';
export type { PreflightReport, PreflightOptions, HostReport as PreflightHostReport, CheckResult as PreflightResult, PreflightCheck as HostCheck } from './preflight/preflight.js';
export type { RemoteOptions } from './check/remote.js';
export type { HostFile, HostFileSet, InstallOptions, InstallReport, HostInstall, InstalledFile, FileAction, RestartPlan } from './install/install.js';
export type { AnsibleOptions } from './install/ansible.js';
export type { KubeadmApiVersion, JoinFacts } from './kubeadm/config.js';
export type { KubeadmRole, PreflightCheck, PreflightViolation } from './kubeadm/preflight.js';
export type { CatalogId, CfsslName, CfsslPair, CfsslPart } from './layout/cfssl-names.js';
export type { ClusterJoinFacts, JoinSecrets } from './kubeadm/join-secrets.js';
export type { KubeconfigData } from './kubeconfig/kubeconfig.js';
export type { KpkiErrorCode, PlanDiagnostic, AnyKpkiError } from './errors.js';
export type { RenewOptions, RenewReport, RenewRequest } from './renew/renew.js';
export type { ExtendCaOptions, ExtendCaReport, ExtendedCa } from './renew/extend.js';
export type { CsrOptions, CsrReport, CsrItem, StoreRunOptions } from './renew/csr.js';
export type { ImportOptions, ImportReport, ImportedItem, SignedInput } from './renew/import.js';
export type { RootRenewOptions, RootRenewReport, RootRenewItem } from './renew/root.js';
export type { RootExtendOptions, RootExtendReport } from './renew/root-extend.js';
export type { NodeRestarts, Restart, RestartAction, ChangedCredential } from './renew/restarts.js';
export type { CheckOptions } from './check/check.js';
export type { AuditInput, AuditOptions } from './check/audit.js';
export type { CheckReport, CertRecord, ReportFinding, Thresholds, Status } from './check/types.js';
export type { Finding, FindingCode, Severity, Remedy } from './findings.js';
