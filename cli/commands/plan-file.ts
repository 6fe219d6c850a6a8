/** The plan file as the CLI reads it: for a command line, a plan that cannot be read is bad input (exit 2). */
import { KpkiError, PlanError } from '../../pki/errors.js';
import { loadPlan } from '../../pki/plan/load.js';
import type { Plan } from '../../pki/plan/types.js';

export async function readPlanFile(path: string): Promise<Plan> {
  try {
    return await loadPlan(path);
  } catch (err) {
    // The library says ERR_IO (the disk failed to give the file); the user named a wrong path.
    if (err instanceof KpkiError && err.code === 'ERR_IO') {
      throw new PlanError([{ file: path, line: 0, column: 0, field: '', message: err.message.slice(path.length + 2) }]);
    }
    throw err;
  }
}
