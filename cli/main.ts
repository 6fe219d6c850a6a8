#!/usr/bin/env node
/**
 * The command table and nothing else: flags, help, examples. Each handler is imported only
 * when its command runs, so `kpki --help` and `--version` stay fast. One catch at the bottom
 * turns errors into messages and exit codes.
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, exitCodeFor } from './exit.js';
import { KpkiError } from '../pki/errors.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const EPILOGUE = `Exit status: 0 ok · 1 unexpected failure · 2 bad input (invalid plan, unreadable PEM,
bad flags) · 3 refused to overwrite a CA or SA key.
Docs: the README; the plan's JSON Schema: \`kpki schema\`.`;

async function main(argv: string[]): Promise<number> {
  let status: number = EXIT.ok;
  const run = (fn: () => Promise<number>) => async () => {
    status = await fn();
  };
  await yargs(argv)
    .scriptName('kpki')
    .version(version)
    .usage('$0 <command> [options]\n\nA Kubernetes cluster PKI from one plan: CAs, every leaf certificate, kubeconfigs\nand per-node file trees in kubeadm\'s layout.')
    .command(
      'gen',
      'Generate (or bring up to date) the whole PKI for a plan',
      (y) =>
        y
          .option('plan', { alias: 'p', type: 'string', demandOption: true, describe: 'cluster.yaml to read' })
          .option('out', { alias: 'o', type: 'string', default: 'out', describe: 'output directory: the CA store plus nodes/<name>/ trees' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'show what would be issued and why; write nothing' })
          .option('prune', { type: 'boolean', default: false, describe: 'also remove the trees of nodes no longer in the plan (backed up first)' })
          .option('wide', { type: 'boolean', default: false, describe: 'one row per certificate, even for large clusters' })
          .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON on stdout' })
          .example('$0 gen -p fixtures/ha-cluster.yaml', 'issue the whole PKI; re-runs change only what the plan changed')
          .example('$0 gen -p cluster.yaml -o ./out --dry-run', 'list what would change, and why'),
      (a) => run(async () => (await import('./commands/gen.js')).gen({ plan: a.plan, out: a.out, dryRun: a['dry-run'], prune: a.prune, json: a.json, wide: a.wide }))(),
    )
    .command(
      'check [paths..]',
      'Audit a PKI: expiry, chain, keys, identities, SANs, usages, weak crypto, kubeconfigs, hygiene',
      (y) =>
        y
          .positional('paths', { type: 'string', array: true, default: [], describe: 'directories to read (/etc/kubernetes, /, a cfssl /k8s)' })
          .option('out', { alias: 'o', type: 'string', describe: 'a kpki output directory (store + node trees) instead of paths' })
          .option('plan', { alias: 'p', type: 'string', describe: 'with --out: judge every credential against this plan, as gen would' })
          .option('node', { type: 'string', describe: 'with paths: the node\'s name (checks system:node:<name>)' })
          .option('warn', { type: 'string', describe: 'warn when a certificate expires within this (default 30d; with --plan its renewBefore)' })
          .option('crit', { type: 'string', describe: 'critical when it expires within this (default 7d)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the versioned report (schema: kpki/check-report.schema.json)' })
          .option('prometheus', { type: 'boolean', default: false, describe: 'print node_exporter textfile metrics (x509-certificate-exporter names)' })
          .option('probe', { type: 'string', array: true, describe: 'also connect with TLS: to every server the plan implies, or to the host:port given' })
          .option('probe-timeout', { type: 'string', describe: 'per-probe timeout (default 3s)' })
          .example('$0 check /etc/kubernetes', 'on a kubeadm node')
          .example('$0 check --out ./out --plan cluster.yaml', 'a kpki store against its plan')
          .example('$0 check /etc/kubernetes --prometheus > /var/lib/node_exporter/textfile/kpki.prom.$$ && mv ...', 'from cron')
          .epilogue('Exit status (monitoring-plugin convention, for Nagios/Icinga/Sensu and cron): 0 OK · 1 WARNING · 2 CRITICAL ·\n3 UNKNOWN (bad arguments, a root or plan that cannot be read).'),
      (a) =>
        run(async () =>
          (await import('./commands/check.js')).checkCommand({
            paths: (a.paths ?? []).map(String), out: a.out, plan: a.plan, node: a.node, warn: a.warn, crit: a.crit,
            json: a.json, prometheus: a.prometheus, probe: a.probe?.map(String), probeTimeout: a['probe-timeout'],
          }),
        )(),
    )
    .command(
      'ca-hash',
      'Print the discovery hash of the Kubernetes CA (for kubeadm join --discovery-token-ca-cert-hash)',
      (y) =>
        y
          .option('out', { alias: 'o', type: 'string', default: 'out', describe: 'output directory of `kpki gen` (reads pki/ca.crt)' })
          .option('cert', { type: 'string', describe: 'a CA certificate file instead' })
          .option('json', { type: 'boolean', default: false }),
      (a) => run(async () => (await import('./commands/join.js')).caHash({ out: a.out, cert: a.cert, json: a.json }))(),
    )
    .command(
      'token',
      'Print a new bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}) for kubeadm join',
      (y) => y.option('json', { type: 'boolean', default: false }),
      (a) => run(async () => (await import('./commands/join.js')).token({ json: a.json }))(),
    )
    .command(
      'certificate-key',
      'Print a new certificate key (64 hex characters) for kubeadm --upload-certs',
      (y) => y.option('json', { type: 'boolean', default: false }),
      (a) => run(async () => (await import('./commands/join.js')).certKey({ json: a.json }))(),
    )
    .command(
      'catalog',
      'List every kind of credential kpki issues, who signs it and which nodes get it',
      (y) => y.option('json', { type: 'boolean', default: false }),
      (a) => run(async () => (await import('./commands/catalog.js')).catalog({ json: a.json }))(),
    )
    .command('schema', 'Print the JSON Schema of cluster.yaml (for editors and validators)', {}, () =>
      run(async () => (await import('./commands/catalog.js')).schema())(),
    )
    .demandCommand(1, 'Name a command; `kpki --help` lists them.')
    .strict()
    .epilogue(EPILOGUE)
    .wrap(null) // cliui hard-wraps mid-word; let the terminal wrap instead
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(msg), { code: 'ERR_USAGE' });
    })
    .parseAsync();
  return status;
}

main(hideBin(process.argv)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (e?.code === 'ERR_USAGE') {
      process.stderr.write(`kpki: ${e.message}\nRun \`kpki --help\` for usage.\n`);
      // `check` follows the monitoring-plugin convention: bad arguments are UNKNOWN (3).
      process.exitCode = process.argv[2] === 'check' ? 3 : EXIT.badInput;
      return;
    }
    const status = exitCodeFor(err);
    // Our own errors are complete sentences; anything else is a bug or an OS error: show where.
    const message = err instanceof KpkiError ? e.message : (err as Error)?.stack ?? String(err);
    process.stderr.write(`kpki: ${message}\n`);
    process.exitCode = status;
  },
);
