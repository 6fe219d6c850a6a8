/** The only plan module that touches the file system. */
import { readFile } from 'node:fs/promises';
import { KpkiError } from '../errors.js';
import type { Plan } from './types.js';

/**
 * Reads and validates cluster.yaml. A file that cannot be read is an I/O error (`ERR_IO`)
 * naming it; a file that reads but is not a valid plan is a PlanError. Parsed every time:
 * a remembered parse (kpki kept one in the store until 0.1) saved ~60 ms on a 1,000-node
 * plan, and trusting it meant validating it again (docs/architecture.md).
 */
export async function loadPlan(path: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new KpkiError('ERR_IO', `${path}: cannot read the plan: ${reason}`, { cause: err });
  }
  // The parser (yaml, the schema validator) loads only when there is something to parse.
  const { parsePlan } = await import('./parse.js');
  return parsePlan(text, path);
}
