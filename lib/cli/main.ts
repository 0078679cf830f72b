/**
 * The `flowline` command line: parse argv, pick the command, map errors to exit codes.
 * `main` takes argv, env and the streams, so tests drive it in-process; only when this
 * file is the process entry does it touch `process`.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FlowlineError } from '../errors.js';
import { closest } from '../suggest.js';
import { ApiError, createClient } from './client.js';
import * as commands from './commands.js';
import { type Context, UsageError } from './commands.js';
import { formatProblem } from './format.js';
import { addKey, type KeyStore, listKeys } from './keys.js';
import { terminalScreen } from './terminal.js';

export interface Io {
  /** A terminal (`isTTY`) gets watch's live tree; anything else plain lines. */
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown };
  fetch?: typeof fetch;
  /** Where relative FILEs and `.flowline/local-api-key` are looked up. */
  cwd?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export type Env = Record<string, string | undefined>;

export const DEFAULT_URL = 'http://localhost:3000';

const USAGE = `usage: flowline <command> [options]

commands:
  validate FILE                     check a workflow spec (YAML or JSON) locally
  register FILE                     register a workflow (PUT /v1/workflows/{name})
  run NAME|FILE [--input k=v ...]   start a run of a registered workflow, or of a spec file
      [--idempotency-key K] [--watch]
  get RUN                           print the run document
  list [--workflow W] [--status S] [--limit N] [--cursor C]
                                    list runs, newest first
  watch RUN                         follow a run's jobs and steps live until it ends
  events RUN [--follow]             print every event of a run (--follow: until it ends)
  logs RUN [--job J] [--follow]     each step's shell output and error
  workflows                         list the registered workflows
  cancel RUN [--reason R]           cancel a run
  approve RUN STEP [--reject] [--comment C]
                                    decide a step waiting for approval, as
                                    your API key's identity (--actor: ignored)
  signal RUN NAME [--payload JSON]  send a signal to a run
  rerun RUN [--from JOB]            start a new run from a finished one
  keys add TENANT[/NAME] [--secret S]
                                    make an API key, add it to the stack's key list
                                    secret and print it once (creates the secret)
  keys list [--secret S]            print the key list's TENANT[/NAME] labels, no keys

options:
  --url URL    API base URL (env FLOWLINE_URL; default ${DEFAULT_URL})
  --key KEY    API key (env FLOWLINE_API_KEY; else .flowline/local-api-key if present)
  -h, --help   show this help

keys: --secret or env FLOWLINE_API_KEYS_SECRET names the secret; AWS credentials and
region as for the AWS CLI (AWS_REGION; AWS_ENDPOINT_URL_SECRETS_MANAGER for a local one).

--input values are JSON when they parse as JSON (n=3, ok=true, xs=[1,2]), else strings.
exit codes: 0 success, 1 the watched run failed or was cancelled, 2 usage or API error.
`;

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  input: { type: 'string', multiple: true, short: 'i' },
  'idempotency-key': { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
  workflow: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  reason: { type: 'string' },
  reject: { type: 'boolean' },
  comment: { type: 'string' },
  actor: { type: 'string' },
  payload: { type: 'string' },
  from: { type: 'string' },
  secret: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  job: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type OptionName = keyof typeof OPTIONS;

const GLOBAL_OPTIONS: readonly OptionName[] = ['url', 'key', 'help'];

/**
 * Positional arguments and the options each command accepts besides the global
 * ones; `required` of the arguments when not all are (default: all).
 */
const COMMANDS: Record<string, { args: string[]; options: OptionName[]; required?: number }> = {
  validate: { args: ['FILE'], options: [] },
  register: { args: ['FILE'], options: [] },
  run: { args: ['NAME|FILE'], options: ['input', 'idempotency-key', 'watch'] },
  get: { args: ['RUN'], options: [] },
  list: { args: [], options: ['workflow', 'status', 'limit', 'cursor'] },
  workflows: { args: [], options: [] },
  watch: { args: ['RUN'], options: [] },
  events: { args: ['RUN'], options: ['follow'] },
  logs: { args: ['RUN'], options: ['job', 'follow'] },
  cancel: { args: ['RUN'], options: ['reason'] },
  approve: { args: ['RUN', 'STEP'], options: ['reject', 'comment', 'actor'] },
  signal: { args: ['RUN', 'NAME'], options: ['payload'] },
  rerun: { args: ['RUN'], options: ['from'] },
  keys: { args: ['add|list', 'TENANT[/NAME]'], options: ['secret'], required: 1 },
};

/** `usage: flowline <command> ARGS [--option VALUE]…`, from the table above. */
function usageLine(command: string | undefined): string {
  const def = command === undefined ? undefined : COMMANDS[command];
  if (!def) return 'usage: flowline <command> [options]   (flowline --help lists the commands)';
  const options = def.options.map((name) => {
    const o = OPTIONS[name];
    return o.type === 'boolean' ? `[--${name}]` : `[--${name} ${name.toUpperCase()}]`;
  });
  return ['usage: flowline', command, ...def.args, ...options].join(' ');
}

export async function main(argv: string[], env: Env, io: Io): Promise<number> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);
  let keyGiven = false;
  try {
    const { command, args, values } = parseCommandLine(argv);
    if (values.help || command === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    if (command === undefined) {
      io.stderr.write(USAGE);
      return 2;
    }
    const cwd = io.cwd ?? process.cwd();
    const apiKey = values.key || env.FLOWLINE_API_KEY || localApiKey(cwd);
    keyGiven = apiKey !== undefined;
    const ctx: Context = {
      ...(io.stdout.isTTY ? { screen: () => terminalScreen(io.stdout) } : {}),
      client: createClient({
        baseUrl: values.url || env.FLOWLINE_URL || DEFAULT_URL,
        ...(apiKey ? { apiKey } : {}),
        fetch: io.fetch ?? globalThis.fetch,
      }),
      out,
      err,
      cwd,
      sleep: io.sleep ?? ((ms) => delay(ms)),
      now: io.now ?? (() => new Date()),
    };
    return await dispatch(ctx, command, args, values, env);
  } catch (e) {
    return report(e, err, keyGiven);
  }
}

type Values = ReturnType<typeof parseCommandLine>['values'];

function dispatch(
  ctx: Context,
  command: string,
  args: string[],
  v: Values,
  env: Env,
): Promise<number> {
  const [a = '', b = ''] = args;
  const opt = <K extends keyof Values>(k: K) => (v[k] === undefined ? {} : { [k]: v[k] });
  switch (command) {
    case 'validate':
      return commands.validate(ctx, a);
    case 'register':
      return commands.register(ctx, a);
    case 'run':
      return commands.run(ctx, a, {
        ...(v.input ? { inputs: parseInputs(v.input) } : {}),
        ...(v['idempotency-key'] !== undefined ? { idempotencyKey: v['idempotency-key'] } : {}),
        watch: v.watch ?? false,
      });
    case 'get':
      return commands.get(ctx, a);
    case 'list':
      return commands.list(ctx, {
        ...opt('workflow'),
        ...opt('status'),
        ...opt('limit'),
        ...opt('cursor'),
      });
    case 'workflows':
      return commands.workflows(ctx);
    case 'watch':
      return commands.watch(ctx, a);
    case 'events':
      return commands.events(ctx, a, v.follow ?? false);
    case 'logs':
      return commands.logs(ctx, a, { ...opt('job'), follow: v.follow ?? false });
    case 'cancel':
      return commands.cancel(ctx, a, v.reason);
    case 'approve':
      return commands.approve(ctx, a, b, {
        reject: v.reject ?? false,
        ...opt('comment'),
        ...opt('actor'),
      });
    case 'signal':
      return commands.signal(ctx, a, b, v.payload);
    case 'rerun':
      return commands.rerun(ctx, a, v.from);
    case 'keys':
      return keys(ctx, args, v.secret || env.FLOWLINE_API_KEYS_SECRET, env);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function parseCommandLine(argv: string[]) {
  const parsed = parseTokens(argv);
  const [command, ...args] = parsed.positionals;
  const def = command === undefined ? undefined : COMMANDS[command];
  if (def) {
    for (const token of parsed.tokens) {
      if (token.kind !== 'option') continue;
      const name = token.name as OptionName;
      if (!GLOBAL_OPTIONS.includes(name) && !def.options.includes(name)) {
        throw new UsageError(`${command} does not take --${name}`, command);
      }
    }
    const required = def.required ?? def.args.length;
    if ((args.length < required || args.length > def.args.length) && !parsed.values.help) {
      const expected = def.args.length === 0 ? 'no arguments' : def.args.join(' ');
      throw new UsageError(`${command} takes ${expected}, got ${args.length} argument(s)`, command);
    }
  } else if (command !== undefined && command !== 'help') {
    const near = closest(command, Object.keys(COMMANDS));
    throw new UsageError(`unknown command '${command}'${near ? `; did you mean '${near}'?` : ''}`);
  }
  return { command, args, values: parsed.values };
}

function parseTokens(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true });
  } catch (e) {
    // node's messages go on about `--` for positionals; the first sentence says it all.
    const command = argv.find((a) => !a.startsWith('-'));
    throw new UsageError((e as Error).message.split(/\.\s/)[0] ?? String(e), command);
  }
}

async function keys(ctx: Context, args: string[], secretId: string | undefined, env: Env) {
  const [action, label] = args;
  if (!secretId) {
    throw new UsageError('keys needs the secret: --secret NAME or FLOWLINE_API_KEYS_SECRET');
  }
  const endpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  const store: KeyStore = {
    secretId,
    client: new SecretsManagerClient({
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
    }),
  };
  try {
    if (action === 'add' && label !== undefined) return await addKey(ctx, store, label);
    if (action === 'list' && label === undefined) return await listKeys(ctx, store);
    throw new UsageError('keys takes: add TENANT[/NAME], or list');
  } finally {
    store.client.destroy();
  }
}

/** `k=v` pairs → inputs; a value that parses as JSON is that JSON, anything else a string. */
export function parseInputs(pairs: string[]): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input wants key=value, got '${pair}'`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {}
    inputs[pair.slice(0, eq)] = value;
  }
  return inputs;
}

/** The key the local stack (npm run dev) keeps for its tenant, when run from the repo. */
function localApiKey(cwd: string): string | undefined {
  try {
    return readFileSync(join(cwd, '.flowline', 'local-api-key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function report(e: unknown, err: (line: string) => void, keyGiven: boolean): number {
  if (e instanceof UsageError) {
    err(`flowline: ${e.message}`);
    err(usageLine(e.command));
  } else if (e instanceof ApiError) {
    for (const line of formatProblem(e.problem)) err(line);
    if (e.status === 401 && !keyGiven) {
      err('hint: no API key given: pass --key, set FLOWLINE_API_KEY, or start the local stack');
    }
  } else if (e instanceof FlowlineError) {
    err(`flowline: ${e.message}`);
  } else {
    err(`flowline: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
  }
  return 2;
}

/** Process streams for `main`; a closed pipe (`flowline events X | head`) ends quietly. */
export function processIo(): Io {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  return { stdout: process.stdout, stderr: process.stderr };
}

/** True when node was started on this file (`node --import tsx lib/cli/main.ts`). */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  process.exitCode = await main(process.argv.slice(2), process.env, processIo());
}
