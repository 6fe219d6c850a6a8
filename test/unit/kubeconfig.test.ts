/** Kubeconfig rendering round-trips through a real YAML parser, whatever the names contain. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseKubeconfig, renderKubeconfig } from '../../pki/kubeconfig/kubeconfig.js';

const pem = (t: string) => `-----BEGIN ${t}-----\nAAAA\n-----END ${t}-----\n`;

test('names that need quoting survive a YAML round trip', () => {
  for (const [clusterName, user, server] of [
    ['kubernetes', 'system:node:cp-1', 'https://[fd00::10]:6443'],
    ['yes', 'true', 'https://10.0.0.1:6443'],
    ['prod #1', 'a: b', 'https://x.example:6443'],
    ['123', 'user@odd', 'https://h:1'],
  ] as const) {
    const data = { clusterName, user, server, caPem: pem('CERTIFICATE'), certPem: pem('CERTIFICATE'), keyPem: pem('EC PRIVATE KEY') };
    const text = renderKubeconfig(data);
    const raw = parse(text) as { 'current-context': string; clusters: Array<{ name: string }> };
    assert.is(raw['current-context'], `${user}@${clusterName}`);
    assert.is(raw.clusters[0]!.name, clusterName);
    assert.equal(parseKubeconfig(text, 'x.conf'), data);
  }
});

test('plain names stay unquoted, as kubectl writes them', () => {
  const text = renderKubeconfig({ clusterName: 'kubernetes', user: 'system:node:w-1', server: 'https://[fd00::10]:6443', caPem: '', certPem: '', keyPem: '' });
  assert.match(text, /\n  name: kubernetes\n/);
  assert.match(text, /current-context: system:node:w-1@kubernetes\n/);
  assert.match(text, /server: https:\/\/\[fd00::10\]:6443\n/);
});

test.run();
