/**
 * kpki's public library API. Everything here is a named export; types use `export type`.
 * Deep imports are not part of the API.
 */
export { loadPlan } from './plan/load.js';
export { parsePlan } from './plan/parse.js';
export { planSchema } from './plan/schema.js';
export { generate, defaultDeps } from './generate.js';
export { resolve, selectNodes } from './catalog/resolve.js';
export { CATALOG, CAS, KEYPAIRS, CERTS, KUBECONFIGS } from './catalog/entries.js';
export { reconcile, profileDiff } from './reconcile.js';
export { fileSpecs } from './layout.js';
export { renderKubeconfig, parseKubeconfig } from './kubeconfig.js';
export { caCertHash, bootstrapToken, certificateKey } from './join.js';
export { KpkiError, PlanError, PemError, formatDiagnostic } from './errors.js';
export { check } from './check/check.js';
export { audit } from './check/audit.js';
export { renderPrometheus } from './check/prometheus.js';
export { FINDINGS } from './findings.js';

export type { Plan, PlanInput, PlanNode, Role, KeyAlgorithm, Cidr, Endpoint, SubjectExtras } from './plan/types.js';
export type {
  CatalogEntry, CaEntry, CertEntry, KubeconfigEntry, KeyPairEntry, LeafEntry, CaId, Usage, NodeSelector, Identity, SanInput, NodeContext,
} from './catalog/types.js';
export type { CertProfile, ResolvedPki, ResolvedCa, ResolvedLeaf, ResolvedKeyPair } from './catalog/resolve.js';
export type { GenerateOptions, GenerateReport, ReportItem, Action } from './generate.js';
export type { Deps, KeyMaterial } from './deps.js';
export type { Decisions, LeafDecision, CaDecision } from './reconcile.js';
export type { FileSpec, FileSource } from './layout.js';
export type { KubeconfigData } from './kubeconfig.js';
export type { KpkiErrorCode, PlanDiagnostic, AnyKpkiError } from './errors.js';
export type { CheckOptions } from './check/check.js';
export type { AuditInput, AuditOptions } from './check/audit.js';
export type { CheckReport, CertRecord, ReportFinding, Thresholds, Status } from './check/types.js';
export type { Finding, FindingCode, Severity, Remedy } from './findings.js';
