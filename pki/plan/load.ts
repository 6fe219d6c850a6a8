/** The only plan module that touches the file system. */
import { readFile } from 'node:fs/promises';
import { PlanError } from '../errors.js';
import { parsePlan } from './parse.js';
import type { Plan } from './types.js';

/** Reads and validates cluster.yaml; an unreadable file is a PlanError (line 0) naming it. */
export async function loadPlan(path: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new PlanError([{ file: path, line: 0, column: 0, field: '', message: `cannot read the plan: ${reason}` }]);
  }
  return parsePlan(text, path);
}
