/** Public surface of the plan module: load, validate and normalise cluster.yaml. */
export { parsePlan, formatFieldPath } from './parse.js';
export { loadPlan } from './load.js';
export { planSchema, PLAN_DEFAULTS } from './schema.js';
export { parseDuration } from './duration.js';
export { parseKubernetesVersion, runsAtLeast } from './version.js';
export {
  parseIp,
  formatIp,
  canonicalIp,
  isIp,
  parseCidr,
  firstHost,
  cidrsOverlap,
  formatHostPort,
  parseHostPort,
  isDnsName,
  isDnsLabel,
  dnsSubdomainProblem,
  type IpAddress,
} from './net.js';
export * from './types.js';
