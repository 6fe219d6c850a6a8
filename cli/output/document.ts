/**
 * `--json` documents: a library report with its apiVersion and kind in front, one document per
 * run on stdout. Each kind has a JSON Schema in schema/ (tests hold the output to it).
 */
import { PLAN_API_VERSION } from '../../pki/plan/types.js';

export type DocumentKind =
  | 'GenReport' // gen-report.schema.json
  | 'RenewReport' | 'RootRenewReport' // renew-report.schema.json
  | 'CaExtendReport' | 'RootCaExtendReport' // ca-extend-report.schema.json
  | 'CsrReport' | 'ImportReport' // csr-report.schema.json, import-report.schema.json
  | 'Error'; // error.schema.json

export function document(kind: DocumentKind, body: object): string {
  return `${JSON.stringify({ apiVersion: PLAN_API_VERSION, kind, ...body }, null, 2)}\n`;
}

export function writeDocument(kind: DocumentKind, body: object): void {
  process.stdout.write(document(kind, body));
}
