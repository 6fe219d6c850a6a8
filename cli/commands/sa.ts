/** `kpki sa rotate`: the service-account key pair's rotation (cli/commands/rotate.ts does the work). */
import { KpkiError } from '../../pki/errors.js';
import { closest } from '../suggest.js';
import { rotateCommand, type RotateCliOptions } from './rotate.js';

export async function saCommand(o: Omit<RotateCliOptions, 'target'> & { readonly args: readonly string[] }): Promise<number> {
  const [action, ...extra] = o.args;
  if (action !== 'rotate') {
    const guess = action && closest(action, ['rotate']);
    throw new KpkiError('ERR_USAGE', action === undefined ? 'name what to do: kpki sa rotate' : `unknown sa action '${action}'${guess ? `; did you mean ${guess}?` : ''} (kpki sa rotate)`);
  }
  if (extra.length) throw new KpkiError('ERR_USAGE', `sa rotate takes no names (got ${extra.join(' ')}): the service-account key pair is one`);
  return rotateCommand({ ...o, target: 'sa' });
}
