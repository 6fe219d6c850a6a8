/**
 * The SSH sink's apply script when its change set is cut off (kpki killed, the connection
 * dropped) at each point of the stream. Run by a local `sh` standing in for the host (the
 * script is what runs there; the transport only carries it), in a scratch root. Whatever the
 * cut: every file at its final name is the old or the new text, never torn; no temp file is
 * left after the next apply; and a backup of a file that was replaced is never taken away.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planChanges } from '../../pki/sinks/changes.js';
import { sshSink } from '../../pki/sinks/ssh.js';
import type { Transport } from '../../pki/sinks/ssh-transport.js';
import type { WantedFile } from '../../pki/sinks/types.js';
import { tempDir } from '../support/cli.js';
import { run } from '../support/proc.js';

const t = suite('SSH apply script, change set cut off');
const asRoot = process.getuid?.() === 0;
const TREES = ['etc'];
const OLD: Record<string, string> = { 'etc/kubernetes/a.crt': 'old a\n', 'etc/kubernetes/b.crt': 'old b\n', 'etc/kubernetes/gone.yaml': 'old gone\n' };
const NEW: Record<string, string> = { 'etc/kubernetes/a.crt': 'new a\n'.repeat(50), 'etc/kubernetes/b.crt': 'new b\n', 'etc/kubernetes/c.crt': 'new c\n' };

/** `sh` on this machine, with stdin cut after `keep` bytes (undefined: whole). */
const local = (cut: { keep?: number }): Transport => ({
  async exec(_target, script, stdin) {
    const input = stdin === undefined ? undefined : Buffer.from(stdin).subarray(0, cut.keep);
    const r = await run('sh', ['-c', script], input === undefined ? {} : { input });
    return { stdout: Buffer.from(r.stdout), stderr: r.stderr, code: r.status ?? 255 };
  },
  close: async () => {},
});

function files(dir: string, rel = ''): string[] {
  if (!existsSync(join(dir, rel))) return [];
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, join(rel, e.name)) : [join(rel, e.name)]));
}

function seed(root: string): void {
  rmSync(root, { recursive: true, force: true });
  for (const [p, text] of Object.entries(OLD)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

const wanted = (): WantedFile[] => Object.entries(NEW).map(([path, content]) => ({ path, mode: 0o644, content, protected: false }));

/** One apply through a transport that cuts the change set; returns the whole change set and the error, if any. */
async function applyCut(root: string, backups: string, keep: number | undefined): Promise<{ stream: Buffer; error?: string }> {
  let stream = Buffer.alloc(0);
  const measuring: Transport = {
    exec: async (target, script, stdin) => {
      if (stdin !== undefined && /\nCOMMIT /.test(String(stdin))) stream = Buffer.from(stdin);
      return local({ keep }).exec(target, script, stdin);
    },
    close: async () => {},
  };
  const sink = sshSink(measuring, { name: 'local', host: 'localhost', user: 'root' }, { root, backupDir: backups });
  const obs = await sink.observe(TREES);
  const set = planChanges(wanted(), obs, { exact: ['etc/kubernetes'], whyRemoved: () => 'not wanted', root: 'test' });
  try {
    await sink.apply(set, { backupStamp: 'cut' });
    return { stream };
  } catch (err) {
    return { stream, error: (err as Error).message };
  }
}

t('every cut: files old or new, never torn; backups of replaced files kept; the next apply completes and leaves no temp file', async () => {
  if (!asRoot) {
    console.log('skipped: the apply script sets owner root (chown 0:0), so it runs as root');
    return;
  }
  const work = tempDir('kpki-apply-cut-');
  const root = join(work, 'host');
  const backups = join(work, 'backups');
  seed(root);
  const { stream } = await applyCut(root, backups, undefined);
  const length = stream.length;
  assert.ok(/\nCOMMIT /.test(stream.toString('latin1')), 'no change set seen');
  // Cut points: at and just after every line start (instructions, file bodies), and the very end.
  const cuts = new Set<number>([0, length - 1]);
  for (let i = 0; i < length; i++) if (stream[i] === 0x0a) (cuts.add(i + 1), cuts.add(Math.min(length, i + 3)));
  cuts.delete(length);
  let replacedSomewhere = 0;
  for (const keep of [...cuts].sort((a, b) => a - b)) {
    seed(root);
    rmSync(backups, { recursive: true, force: true });
    const cut = await applyCut(root, backups, keep);
    const what = `cut after ${keep} of ${length} bytes`;
    if (keep < length) assert.ok(cut.error, `${what}: no error reported`);
    for (const p of new Set([...Object.keys(OLD), ...Object.keys(NEW)])) {
      const at = join(root, p);
      if (!existsSync(at)) continue;
      const text = readFileSync(at, 'utf8');
      assert.ok(text === OLD[p] || text === NEW[p], `${what}: ${p} is torn: ${JSON.stringify(text.slice(0, 40))}`);
    }
    // A file no longer as it was: its previous text is in the backups.
    const kept = files(backups).map((f) => readFileSync(join(backups, f), 'utf8'));
    for (const [p, text] of Object.entries(OLD)) {
      const now = existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : undefined;
      if (now !== text) {
        replacedSomewhere++;
        assert.ok(kept.includes(text), `${what}: ${p} was replaced or removed and its backup is gone`);
      }
    }
    const next = await applyCut(root, backups, undefined);
    assert.is(next.error, undefined, `${what}: the next apply failed`);
    assert.equal(files(root).sort(), Object.keys(NEW).sort(), `${what}: after the next apply`);
    for (const [p, text] of Object.entries(NEW)) assert.is(readFileSync(join(root, p), 'utf8'), text, `${what}: ${p}`);
  }
  assert.ok(replacedSomewhere > 0, 'no cut fell after the renames');
  rmSync(work, { recursive: true, force: true });
});

t.run();
