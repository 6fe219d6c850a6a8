/**
 * The report for people, in the shape of `kubeadm certs check-expiration`: the certificates
 * (CERTIFICATE, EXPIRES, RESIDUAL TIME, CERTIFICATE AUTHORITY, NODE when several node trees
 * were read, PATH with --wide), the CAs, then the findings grouped by severity. One row per
 * credential: the same certificate in two files of one tree (a cfssl tree's admin.kubeconfig
 * and admin.pem) is one row, its files listed under PATH. Pure: strings in, string out;
 * colour is a function the caller passes (on for a TTY only).
 */
import type { Severity } from '../findings.js';
import type { CertRecord, CheckReport } from './types.js';

export interface Paint {
  readonly bold: (s: string) => string;
  readonly red: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly green: (s: string) => string;
  readonly dim: (s: string) => string;
}

export const NO_PAINT: Paint = { bold: (s) => s, red: (s) => s, yellow: (s) => s, green: (s) => s, dim: (s) => s };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** Go's `Jan 02, 2006 15:04 MST`, in UTC, as kubeadm prints it. */
export function kubeadmDate(iso: string): string {
  const d = new Date(iso);
  return `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** kubeadm's ShortHumanDuration: `45s`, `12m`, `5h`, `364d`, `9y`; `<invalid>` once expired (as KubeKey). */
export function residual(seconds: number): string {
  if (seconds < 0) return '<invalid>';
  if (seconds < 120) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 365 ? `${d}d` : `${Math.floor(d / 365)}y`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], paint: Paint): string {
  // eslint-disable-next-line no-control-regex
  const len = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => len(r[i] ?? ''))));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - len(c) + 1))).join('  ').trimEnd();
  return [paint.bold(line(header)), ...rows.map(line)].join('\n');
}

/** The row name: the catalog role as kubeadm names it, else the file. */
const rowName = (r: CertRecord) => (r.role === 'unknown' ? r.path : r.role);

export interface TextOptions {
  /** A PATH column: every file holding the credential. */
  readonly wide?: boolean;
}

const RANK = { ok: 0, info: 1, warning: 2, critical: 3 } as const;

/** One row per credential: records of one certificate in one tree, its kubeconfig first. */
function credentials(records: readonly CertRecord[]): Array<{ record: CertRecord; paths: string[] }> {
  const rows = new Map<string, { record: CertRecord; paths: string[] }>();
  for (const c of records) {
    const key = `${c.node ?? ''}\0${c.fingerprint}`;
    const row = rows.get(key);
    if (!row) {
      rows.set(key, { record: c, paths: [c.path] });
      continue;
    }
    row.paths.push(c.path);
    const primary = c.source === 'kubeconfig' && row.record.source !== 'kubeconfig' ? c : row.record;
    // The row shows the worst status of its files.
    const status = RANK[c.status] > RANK[row.record.status] ? c.status : row.record.status;
    row.record = { ...primary, status };
    if (primary === c) row.paths.unshift(row.paths.pop()!);
  }
  return [...rows.values()];
}

export function renderText(r: CheckReport, paint: Paint = NO_PAINT, options: TextOptions = {}): string {
  const out: string[] = [];
  const nodes = new Set(r.certificates.map((c) => c.node ?? ''));
  const withNode = nodes.size > 1;
  const wide = options.wide === true;
  const colour = (s: CertRecord['status'], text: string) => (s === 'critical' ? paint.red(text) : s === 'warning' ? paint.yellow(text) : text);
  const row = (c: CertRecord, ca: boolean, paths: readonly string[]) => [
    colour(c.status, rowName(c)),
    kubeadmDate(c.notAfter),
    colour(c.residualSeconds < 0 ? 'critical' : c.status, residual(c.residualSeconds)),
    ...(ca ? [] : [c.authority]),
    ...(withNode && !ca ? [c.node ?? '-'] : []),
    ...(wide ? [paths.join(', ')] : []),
  ];
  if (r.certificates.length) {
    const rows = credentials(r.certificates);
    out.push(table(['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', ...(withNode ? ['NODE'] : []), ...(wide ? ['PATH'] : [])], rows.map((c) => row(c.record, false, c.paths)), paint), '');
  }
  if (r.authorities.length) {
    out.push(table(['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', ...(wide ? ['PATH'] : [])], r.authorities.map((c) => row(c, true, [c.path])), paint), '');
  }
  if (r.kubernetesVersion) out.push(paint.dim(`Identities judged for Kubernetes ${r.kubernetesVersion.version} (${r.kubernetesVersion.source})`), '');
  const groups: Array<[Severity, string, (s: string) => string]> = [['critical', 'CRITICAL', paint.red], ['warning', 'WARNING', paint.yellow], ['info', 'INFO', paint.dim]];
  for (const [sev, title, p] of groups) {
    const fs = r.findings.filter((f) => f.severity === sev);
    if (!fs.length) continue;
    out.push(p(paint.bold(`${title} (${fs.length})`)));
    for (const f of fs) out.push(`  ${p(f.code)} ${f.file}${f.ref ? ` (${f.ref})` : ''}: ${f.message}`, paint.dim(`      ${f.hint}`));
    out.push('');
  }
  const s = r.summary;
  const line = `${r.status}: ${s.certificates} certificates, ${s.authorities} CAs; ${s.critical} critical, ${s.warning} warning, ${s.info} info`;
  out.push(r.status === 'OK' ? paint.green(line) : r.status === 'WARNING' ? paint.yellow(line) : paint.red(line));
  // Say what the audit trusted: unchanged leaves judged from the store's record, or every file read.
  if (r.record) {
    out.push(paint.dim(r.record.used ? 'Unchanged leaves judged from pki/record, as gen recorded them (--no-cache reads every file).' : `pki/record not used (${r.record.why}): every file read.`));
  }
  return `${out.join('\n')}\n`;
}
