/** Filesystem locations, resolved from the compiled file (dist/bench/*.js) back to the repository. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KPKI_MAIN = join(REPO_ROOT, 'dist', 'cli', 'main.js');
export const SCRIPTS_DIR = join(REPO_ROOT, 'bench', 'scripts');
export const WORK_DIR = join(REPO_ROOT, 'bench', '.work');
export const RESULTS_FILE = join(REPO_ROOT, 'bench', 'RESULTS.md');
/** Compiled siblings of this module. */
export const FLOOR_JS = fileURLToPath(new URL('./floor.js', import.meta.url));
export const RSS_HOOK_JS = fileURLToPath(new URL('./rss-hook.js', import.meta.url));
