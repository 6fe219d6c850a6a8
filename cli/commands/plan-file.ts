/** The plan file as the CLI reads it: for a command line, a plan that cannot be read is bad input (exit 2). */
import { KpkiError, PlanError } from '../../pki/errors.js';
import { loadPlan } from '../../pki/plan/load.js';
import type { Plan } from '../../pki/plan/types.js';
import { readPlanMemo } from '../../pki/store/state.js';

/** `out`: the store whose record of the last plan may spare the parse (see loadPlan). */
export async function readPlanFile(path: string, out?: string): Promise<Plan> {
  try {
    const memo = out === undefined ? undefined : readPlanMemo(out);
    return await loadPlan(path, memo ? { memo } : {});
  } catch (err) {
    // The library says ERR_IO (the disk failed to give the file); the user named a wrong path.
    if (err instanceof KpkiError && err.code === 'ERR_IO') {
      throw new PlanError([{ file: path, line: 0, column: 0, field: '', message: err.message.slice(path.length + 2) }]);
    }
    throw err;
  }
}
