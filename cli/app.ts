/**
 * The command table and nothing else: flags, help, examples. Each handler is imported only
 * when its command runs. One catch at the bottom turns errors into messages and exit codes
 * (and, with --json, into a JSON error document on stdout as well).
 *
 * `main.ts` answers `--version` and `--help` without loading this module; it prints the help
 * this module renders, captured at build time (scripts/build-cli.mjs).
 */
import yargs, { type ArgumentsCamelCase, type InferredOptionTypes, type Options } from 'yargs';
import { EXIT, exitCodeFor } from './exit.js';
import { explainUnknown } from './suggest.js';
import { KpkiError } from '../pki/errors.js';
import { parseDuration } from '../pki/plan/duration.js';
import { KPKI_VERSION } from '../pki/version.js';

const version = KPKI_VERSION;

const EPILOGUE = `Exit status: 0 ok · 1 unexpected failure · 2 bad input (invalid plan, unreadable PEM,
bad flags, unusable --out) · 3 refused (a CA or SA key would be overwritten, or a CA cannot sign)
· 4 the store is locked by another kpki run (gen waits --lock-timeout for it).
Docs: the README; the plan's JSON Schema: \`kpki schema\`.`;

const USAGE = `$0 <command> [options]\n\nA Kubernetes cluster PKI from one plan: CAs, every leaf certificate, kubeconfigs\nand per-node file trees in kubeadm's layout.`;

interface CommandSpec<O extends Record<string, Options>> {
  readonly name: string;
  /** One positional argument: required (`join-command <node>`) or a list (`check [paths..]`). */
  readonly positional?: { readonly name: string; readonly describe: string; readonly list?: boolean };
  readonly describe: string;
  /** Command-specific footer (check's exit statuses). */
  readonly epilogue?: string;
  readonly options: O;
  readonly examples?: ReadonlyArray<readonly [string, string]>;
  readonly run: (a: ArgumentsCamelCase<InferredOptionTypes<O>> & { readonly _positional?: string; readonly _list?: readonly string[] }) => Promise<number>;
}
/** A spec as the table holds it: typed where it is written, erased where it is registered. */
type AnyCommand = CommandSpec<Record<string, Options>>;
const command = <O extends Record<string, Options>>(c: CommandSpec<O>): AnyCommand => c as unknown as AnyCommand;

function duration(flag: string) {
  return (text: string): number => {
    try {
      return parseDuration(text);
    } catch (err) {
      throw new KpkiError('ERR_USAGE', `--${flag}: ${(err as Error).message}`);
    }
  };
}

export const COMMANDS: readonly AnyCommand[] = [
  command({
    name: 'gen',
    describe: 'Generate (or bring up to date) the whole PKI for a plan',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml to read' },
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'output directory: the CA store plus nodes/<name>/ trees' },
      'dry-run': { type: 'boolean', default: false, describe: 'show what would be issued and why; write nothing' },
      prune: { type: 'boolean', default: false, describe: 'also remove the trees of nodes no longer in the plan (backed up first)' },
      wide: { type: 'boolean', default: false, describe: 'one row per certificate, even for large clusters' },
      'lock-timeout': {
        type: 'string', default: '60s', requiresArg: true, coerce: duration('lock-timeout'),
        describe: 'how long to wait while another kpki run holds the store (e.g. 0, 30s, 5m)',
      },
      json: { type: 'boolean', default: false, describe: 'print the report as JSON on stdout' },
    },
    examples: [
      ['$0 init && $0 gen -p cluster.yaml', 'write a starter plan, then issue the whole PKI; re-runs change only what the plan changed'],
      ['$0 gen -p cluster.yaml -o ./out --dry-run', 'list what would change, and why'],
    ],
    run: async (a) =>
      (await import('./commands/gen.js')).gen({
        plan: a.plan, out: a.out, dryRun: a.dryRun, prune: a.prune, json: a.json, wide: a.wide, lockTimeoutMs: a.lockTimeout,
      }),
  }),
  command({
    name: 'check',
    positional: { name: 'paths', describe: 'directories to read (/etc/kubernetes, /, a cfssl /k8s)', list: true },
    describe: 'Audit a PKI: expiry, chain, keys, identities, SANs, usages, weak crypto, kubeconfigs, hygiene',
    options: {
      out: { alias: 'o', type: 'string', requiresArg: true, describe: 'a kpki output directory (store + node trees) instead of paths' },
      plan: { alias: 'p', type: 'string', requiresArg: true, describe: 'with --out: judge every credential against this plan, as gen would' },
      node: { type: 'string', requiresArg: true, describe: "with paths: the node's name (checks system:node:<name>)" },
      warn: { type: 'string', requiresArg: true, describe: 'warn when a certificate expires within this (default 30d; with --plan its renewBefore)' },
      crit: { type: 'string', requiresArg: true, describe: 'critical when it expires within this (default 7d)' },
      json: { type: 'boolean', default: false, describe: 'print the versioned report (schema: kpki/check-report.schema.json)' },
      prometheus: { type: 'boolean', default: false, describe: 'print node_exporter textfile metrics (x509-certificate-exporter names)' },
      probe: { type: 'string', array: true, describe: 'also connect with TLS: to every server the plan implies, or to the host:port given' },
      'probe-timeout': { type: 'string', requiresArg: true, describe: 'per-probe timeout (default 3s)' },
      'cross-mounts': { type: 'boolean', default: false, describe: 'with paths: also read file systems mounted inside them (never /proc, /sys)' },
    },
    examples: [
      ['$0 check /etc/kubernetes', 'on a kubeadm node'],
      ['$0 check --out ./out --plan cluster.yaml', 'a kpki store against its plan'],
      ['$0 check --out ./out --plan cluster.yaml --probe', 'also ask every server the plan implies what it serves'],
      ['$0 check /etc/kubernetes --prometheus > /var/lib/node_exporter/textfile/kpki.prom.$$ && mv ...', 'from cron'],
    ],
    epilogue: 'Exit status (monitoring-plugin convention, for Nagios/Icinga/Sensu and cron): 0 OK · 1 WARNING · 2 CRITICAL ·\n3 UNKNOWN (bad arguments, a root or plan that cannot be read).',
    run: async (a) =>
      (await import('./commands/check.js')).checkCommand({
        paths: [...(a._list ?? [])], out: a.out, plan: a.plan, node: a.node, warn: a.warn, crit: a.crit,
        json: a.json, prometheus: a.prometheus, probe: a.probe?.map(String), probeTimeout: a.probeTimeout, crossMounts: a.crossMounts,
      }),
  }),
  command({
    name: 'init',
    describe: 'Write a commented starter plan (cluster.yaml) to edit',
    options: {
      out: { alias: 'o', type: 'string', default: 'cluster.yaml', requiresArg: true, describe: 'file to write (never overwritten)' },
      stdout: { type: 'boolean', default: false, describe: 'print the plan instead of writing a file' },
    },
    run: async (a) => (await import('./commands/init.js')).init({ out: a.out, stdout: a.stdout }),
  }),
  command({
    name: 'join-command',
    positional: { name: 'node', describe: 'node name from the plan' },
    describe: 'Print the kubeadm join line for a node of a deploy: kubeadm plan (token included)',
    options: {
      plan: { alias: 'p', type: 'string', demandOption: true, requiresArg: true, describe: 'cluster.yaml (deploy: kubeadm)' },
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'output directory of `kpki gen` (reads pki/ca.crt, pki/join.json)' },
    },
    examples: [['$0 join-command cp-2 -p cluster.yaml', 'kubeadm join <endpoint> --token … --discovery-token-ca-cert-hash sha256:… --control-plane …']],
    run: async (a) => (await import('./commands/join.js')).joinCommandLine({ node: a._positional!, plan: a.plan, out: a.out }),
  }),
  command({
    name: 'ca-hash',
    describe: 'Print the discovery hash of the Kubernetes CA (for kubeadm join --discovery-token-ca-cert-hash)',
    options: {
      out: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'output directory of `kpki gen` (reads pki/ca.crt)' },
      cert: { type: 'string', requiresArg: true, describe: 'a CA certificate file instead' },
      json: { type: 'boolean', default: false },
    },
    run: async (a) => (await import('./commands/join.js')).caHash({ out: a.out, cert: a.cert, json: a.json }),
  }),
  command({
    name: 'token',
    describe: 'Print a new bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}) for kubeadm join',
    options: { json: { type: 'boolean', default: false } },
    run: async (a) => (await import('./commands/join.js')).token({ json: a.json }),
  }),
  command({
    name: 'certificate-key',
    describe: 'Print a new certificate key (64 hex characters) for kubeadm --upload-certs',
    options: { json: { type: 'boolean', default: false } },
    run: async (a) => (await import('./commands/join.js')).certKey({ json: a.json }),
  }),
  command({
    name: 'catalog',
    describe: 'List every kind of credential kpki issues, who signs it and which nodes get it',
    options: { json: { type: 'boolean', default: false } },
    run: async (a) => (await import('./commands/catalog.js')).catalog({ json: a.json }),
  }),
  command({
    name: 'schema',
    describe: 'Print the JSON Schema of cluster.yaml (for editors and validators)',
    options: {},
    run: async () => (await import('./commands/catalog.js')).schema(),
  }),
];

/** Long flags a command accepts (for "did you mean"); the top level has only help and version. */
function flagsOf(name: string | undefined): string[] {
  const c = COMMANDS.find((x) => x.name === name);
  const own = c ? Object.entries(c.options).flatMap(([k, o]) => [k, ...[o.alias ?? []].flat()]) : [];
  return [...own, 'help', 'version'].filter((f) => f.length > 1);
}

const SHAPE = { commands: COMMANDS.map((c) => c.name), flagsOf };

function usageMessage(msg: string, argv: readonly string[]): string {
  // With no command named, yargs complains about that first; a mistyped top-level flag
  // (`kpki --versoin`) is the likelier story, so tell that one.
  if (!argv.some((t) => SHAPE.commands.includes(t))) {
    const stray = argv.filter((t) => /^--?[^-]/.test(t)).map((t) => t.replace(/^--?/, '').split('=')[0]!).filter((n) => !SHAPE.commands.some((c) => flagsOf(c).includes(n)));
    if (stray.length) return explainUnknown(`Unknown arguments: ${stray.join(', ')}`, argv, SHAPE)!;
  }
  return explainUnknown(msg, argv, SHAPE) ?? msg;
}

class UsageError extends KpkiError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

async function parse(argv: readonly string[]): Promise<number> {
  let status: number = EXIT.ok;
  let y = yargs([...argv])
    .scriptName('kpki')
    .locale('en') // messages and help in one language: the fast-path help is captured from this
    .version(version)
    .usage(USAGE);
  for (const c of COMMANDS) {
    const p = c.positional;
    y = y.command(
      p ? (p.list ? `${c.name} [${p.name}..]` : `${c.name} <${p.name}>`) : c.name,
      c.describe,
      (b) => {
        const withPositional = p ? b.positional(p.name, { type: 'string', describe: p.describe, ...(p.list ? { array: true, default: [] } : {}) }) : b;
        const withExamples = (c.examples ?? []).reduce((acc, [cmd, what]) => acc.example(cmd, what), withPositional.options(c.options));
        return c.epilogue ? withExamples.epilogue(c.epilogue) : withExamples;
      },
      async (a) => {
        const value = p ? a[p.name] : undefined;
        status = await c.run(p ? { ...a, ...(p.list ? { _list: ([] as unknown[]).concat(value ?? []).map(String) } : { _positional: String(value) }) } : a);
      },
    );
  }
  await y
    .demandCommand(1, 'Name a command; `kpki --help` lists them.')
    .strict()
    .epilogue(EPILOGUE)
    .wrap(null) // cliui hard-wraps mid-word; let the terminal wrap instead
    .fail((msg, err) => {
      // yargs' own errors (a flag without its value, a failed coerce) are usage errors too.
      if (err && err.name !== 'YError') throw err;
      throw new UsageError(usageMessage(err?.message ?? msg, argv));
    })
    .parseAsync();
  return status;
}

/** `--json` anywhere on the command line: errors are then also a JSON document on stdout. */
const wantsJson = (argv: readonly string[]) => argv.some((t) => t === '--json' || t === '--json=true');

function report(err: unknown, argv: readonly string[]): number {
  // `check` follows the monitoring-plugin convention: anything that stops it is UNKNOWN (3).
  const status = argv[0] === 'check' ? 3 : exitCodeFor(err);
  const ours = err instanceof KpkiError;
  const message = ours ? err.message : (err as Error)?.message ?? String(err);
  // Our own errors are complete sentences; anything else is a bug or an OS error: show where.
  const text = ours ? message : (err as Error)?.stack ?? message;
  process.stderr.write(`kpki: ${text}\n${err instanceof UsageError ? 'Run `kpki --help` for usage.\n' : ''}`);
  if (wantsJson(argv)) {
    const code = ours ? err.code : 'ERR_INTERNAL';
    process.stdout.write(`${JSON.stringify({ apiVersion: 'kpki/v1alpha1', kind: 'Error', error: { code, message, exitCode: status } }, null, 2)}\n`);
  }
  return status;
}

/** Runs one command line to completion and sets the process's exit status. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await parse(argv);
  } catch (err) {
    process.exitCode = report(err, argv);
  }
}
