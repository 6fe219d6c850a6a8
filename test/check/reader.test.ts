/**
 * `check`'s roots are read through a HostReader, not the local disk: a reader serving another
 * host's files (here from memory, as an SSH reader would from a remote host) is all `check`
 * sees, the files its kubeconfigs reference included. Certificates are made by openssl.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../../pki/check/check.js';
import type { HostObservation, HostReader, ObservedFile, ReadOnlyWalkOptions } from '../../pki/sinks/types.js';
import { tempDir } from '../support/cli.js';
import { opensslCa, opensslLeaf } from './tools.js';

/** A host that exists only in memory: absolute path → text. */
function memoryHost(texts: ReadonlyMap<string, string>) {
  const asked: string[] = [];
  const reader: HostReader = {
    name: 'memory',
    async observe(roots: readonly string[], options: ReadOnlyWalkOptions): Promise<HostObservation> {
      const files = new Map<string, ObservedFile>();
      for (const [path, content] of texts) {
        const name = path.slice(path.lastIndexOf('/') + 1);
        if (roots.some((r) => path.startsWith(`${r}/`)) && options.wanted.test(name)) files.set(path, { mode: 0o600, content });
      }
      return { files, unreadableRoots: [], skipped: [{ path: `${roots[0]}/pipe.crt`, why: 'special', detail: 'a FIFO' }] };
    },
    async read(paths: readonly string[]) {
      asked.push(...paths);
      const out = new Map<string, ObservedFile>();
      for (const p of paths) {
        const content = texts.get(p);
        if (content !== undefined) out.set(p, { mode: 0o600, content });
      }
      return out;
    },
  };
  return { reader, asked };
}

test('a reader other than the disk: its files are audited, its references read through it, its skipped paths reported', async () => {
  const dir = tempDir('kpki-reader-');
  opensslCa('kubernetes', join(dir, 'ca.crt'), join(dir, 'ca.key'));
  opensslLeaf({ subj: '/O=system:nodes/CN=system:node:far-1', ca: { crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') } }, join(dir, 'c.crt'), join(dir, 'c.key'));
  const text = (f: string) => readFileSync(join(dir, f), 'utf8');
  const kubelet = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(text('ca.crt')).toString('base64')}
    server: https://127.0.0.1:6443
  name: c
contexts:
- context: { cluster: c, user: u }
  name: x
current-context: x
kind: Config
users:
- name: u
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
`;
  const host = memoryHost(new Map([
    ['/far/etc/kubernetes/pki/ca.crt', text('ca.crt')],
    ['/far/etc/kubernetes/kubelet.conf', kubelet],
    ['/var/lib/kubelet/pki/kubelet-client-current.pem', text('c.crt') + text('c.key')],
  ]));
  // No such directory here: only the reader knows it.
  const report = await check({ roots: ['/far/etc/kubernetes'], reader: host.reader, node: 'far-1' });
  assert.equal(report.certificates.map((c) => [c.path, c.subject.cn]), [['/far/etc/kubernetes/kubelet.conf', 'system:node:far-1']]);
  assert.equal(report.authorities.map((c) => c.subject.cn), ['kubernetes']);
  assert.ok(host.asked.includes('/var/lib/kubelet/pki/kubelet-client-current.pem'), host.asked.join(', '));
  assert.equal(report.findings.filter((f) => f.code === 'not-a-regular-file').map((f) => f.file), ['/far/etc/kubernetes/pipe.crt']);
});

test.run();
