/**
 * Prometheus textfile-collector output, with x509-certificate-exporter's metric and label
 * names where they exist (`x509_cert_not_after`, `x509_cert_not_before`, `x509_cert_expired`
 * with `filename`, `filepath`, `serial_number`, `subject_CN`, `issuer_CN`, ...), so its
 * alert rules and dashboards work unchanged, plus kpki's own `kpki_check_findings`. Every
 * series of a family carries the same label names; no sample timestamps (the collector
 * rejects them). Passes `promtool check metrics`.
 */
import { FINDINGS, type Severity } from '../findings.js';
import type { CertRecord, CheckReport } from './types.js';

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The exporter writes decimal serials. */
const decimal = (hex: string) => (hex ? BigInt(`0x${hex}`).toString(10) : '');

function labels(c: CertRecord): string {
  const pairs: Array<[string, string]> = [
    ['filename', c.path.slice(c.path.lastIndexOf('/') + 1)],
    ['filepath', c.path],
    ['embedded_kind', c.source === 'kubeconfig' ? 'user' : ''],
    ['serial_number', decimal(c.serial)],
    ['issuer_CN', c.issuer.cn],
    ['subject_CN', c.subject.cn],
    ['subject_O', c.subject.o[0] ?? ''],
    ['role', c.role],
    ['node', c.node ?? ''],
  ];
  return `{${pairs.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}

export function renderPrometheus(r: CheckReport): string {
  const now = Date.parse(r.generatedAt);
  // A CA copied to a thousand nodes is one series per file, as the exporter does.
  const certs = [...r.authorities, ...r.certificates];
  const seen = new Set<string>();
  const unique = certs.filter((c) => {
    const k = labels(c);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const out: string[] = [];
  const family = (name: string, help: string, value: (c: CertRecord) => number) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const c of unique) out.push(`${name}${labels(c)} ${value(c)}`);
  };
  const secs = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  family('x509_cert_not_after', 'Certificate NotAfter as a Unix timestamp (seconds)', (c) => secs(c.notAfter));
  family('x509_cert_not_before', 'Certificate NotBefore as a Unix timestamp (seconds)', (c) => secs(c.notBefore));
  family('x509_cert_expired', '1 if the certificate has expired, else 0', (c) => (Date.parse(c.notAfter) <= now ? 1 : 0));
  out.push('# HELP kpki_check_findings Findings of the last kpki check, by severity and code', '# TYPE kpki_check_findings gauge');
  const counts = new Map<string, number>();
  for (const f of r.findings) counts.set(`${f.severity}\0${f.code}`, (counts.get(`${f.severity}\0${f.code}`) ?? 0) + 1);
  // Every code appears (0 when absent), so alerts can use `> 0` without `absent()`.
  for (const [code, rule] of Object.entries(FINDINGS) as Array<[string, { severity: Severity }]>) {
    out.push(`kpki_check_findings{severity="${rule.severity}",code="${escape(code)}"} ${counts.get(`${rule.severity}\0${code}`) ?? 0}`);
  }
  out.push('# HELP kpki_check_status Result of the last kpki check: 0 OK, 1 WARNING, 2 CRITICAL', '# TYPE kpki_check_status gauge', `kpki_check_status ${r.exitCode}`);
  out.push('# HELP kpki_check_last_run_timestamp_seconds When the last kpki check ran, as a Unix timestamp', '# TYPE kpki_check_last_run_timestamp_seconds gauge', `kpki_check_last_run_timestamp_seconds ${Math.floor(now / 1000)}`);
  return `${out.join('\n')}\n`;
}
