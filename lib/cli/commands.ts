/**
 * One function per CLI command. Each returns the exit code: 0 success, 1 the run it
 * waited for did not succeed, 2 usage or API errors (thrown; main.ts prints them).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type FieldProblem, FlowlineError, ValidationError } from '../errors.js';
import { loadSpec } from '../spec/index.js';
import { specWarnings } from '../spec/warnings.js';
import { type Answer, ApiError, ApiUnreachableError, type Client } from './client.js';
import {
  clock,
  formatEvent,
  formatFieldProblem,
  formatRunList,
  isTerminal,
  type RunDoc,
  runResultLines,
  watchLines,
} from './format.js';

export interface Context {
  client: Client;
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
}

/** Bad command line: printed with a pointer to `--help`, exit 2. */
export class UsageError extends FlowlineError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('VALIDATION', message);
  }
}

const POLL_MS = 500;
/** Polls that may fail in a row (gateway hiccups, a restarting local stack) before watch gives up. */
const MAX_POLL_FAILURES = 5;

export async function validate(ctx: Context, file: string): Promise<number> {
  const { text, format } = await readSpecFile(ctx.cwd, file);
  try {
    const spec = loadSpec({ text, format });
    const jobs = Object.keys(spec.jobs).length;
    ctx.out(`${file}: valid workflow '${spec.name}' (${jobs} job${jobs === 1 ? '' : 's'})`);
    printWarnings(ctx, specWarnings(spec));
    return 0;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const p of err.problems) ctx.out(formatFieldProblem(p));
    const n = err.problems.length;
    ctx.err(`${file}: ${n} problem${n === 1 ? '' : 's'}`);
    return 2;
  }
}

/** Warnings (lib/spec/warnings.ts) go to stderr: the spec is valid and the exit code stays 0. */
function printWarnings(ctx: Context, warnings: FieldProblem[] | undefined): void {
  for (const w of warnings ?? []) ctx.err(`warning: ${formatFieldProblem(w)}`);
}

export async function register(ctx: Context, file: string): Promise<number> {
  const { text, format } = await readSpecFile(ctx.cwd, file);
  const name = specName(text);
  if (!name) {
    throw new UsageError(`${file} has no top-level 'name' (see: flowline validate ${file})`);
  }
  const { status, body } = await ctx.client.registerWorkflow(name, text, format);
  const version = body.version ? ` (version ${body.version})` : '';
  ctx.out(
    status === 201
      ? `registered ${body.name} revision ${body.revision}${version}`
      : `${body.name} unchanged at revision ${body.revision}${version}`,
  );
  printWarnings(ctx, body.warnings);
  return 0;
}

export async function run(
  ctx: Context,
  target: string,
  opts: { inputs?: Record<string, unknown>; idempotencyKey?: string; watch?: boolean },
): Promise<number> {
  const path = resolve(ctx.cwd, target);
  const isFile = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  const answer = await ctx.client.startRun(
    isFile ? { spec: await readFile(path, 'utf8') } : { workflow: target },
    opts.inputs,
    opts.idempotencyKey,
  );
  const summary = answer.body;
  if (answer.headers.get('idempotent-replayed') === 'true') {
    ctx.err(`idempotency key seen before: this is the existing run ${summary.id}`);
  }
  if (!opts.watch) {
    printJson(ctx, summary);
    return 0;
  }
  ctx.out(`started run ${summary.id} of ${summary.workflow}`);
  return watch(ctx, summary.id);
}

export async function get(ctx: Context, runId: string): Promise<number> {
  printJson(ctx, await ctx.client.getRun(runId));
  return 0;
}

export async function list(
  ctx: Context,
  query: { workflow?: string; status?: string; limit?: string; cursor?: string },
): Promise<number> {
  const page = await ctx.client.listRuns(query);
  for (const line of formatRunList(page.items)) ctx.out(line);
  if (page.nextCursor) ctx.err(`more: flowline list --cursor ${page.nextCursor}`);
  return 0;
}

/** Polls the run document and prints one line per job/step status change until it ends. */
export async function watch(ctx: Context, runId: string): Promise<number> {
  let prev: RunDoc | undefined;
  let failures = 0;
  for (;;) {
    let doc: RunDoc;
    try {
      doc = await ctx.client.getRun(runId);
      failures = 0;
    } catch (err) {
      failures += 1;
      if (!isTransient(err) || failures >= MAX_POLL_FAILURES) throw err;
      await ctx.sleep(POLL_MS);
      continue;
    }
    for (const line of watchLines(prev, doc, clock(ctx.now()))) ctx.out(line);
    if (isTerminal(doc.status)) {
      for (const line of runResultLines(doc)) ctx.out(line);
      return doc.status === 'succeeded' ? 0 : 1;
    }
    prev = doc;
    await ctx.sleep(POLL_MS);
  }
}

/** Every event of the run, page after page, following `next`. */
export async function events(ctx: Context, runId: string): Promise<number> {
  let after: string | undefined;
  for (;;) {
    const page = await ctx.client.events(runId, after);
    for (const e of page.items) ctx.out(formatEvent(e));
    if (page.items.length === 0 || !page.next || page.next === after) return 0;
    after = page.next;
  }
}

export async function cancel(ctx: Context, runId: string, reason?: string): Promise<number> {
  printAnswer(ctx, await ctx.client.cancel(runId, reason), `cancel requested for run ${runId}`);
  return 0;
}

export async function approve(
  ctx: Context,
  runId: string,
  step: string,
  opts: { reject?: boolean; comment?: string; actor?: string },
): Promise<number> {
  const approved = !opts.reject;
  if (opts.actor !== undefined) {
    ctx.err('--actor is deprecated and ignored: the approver is the identity of your API key');
  }
  const answer = await ctx.client.approve(runId, step, {
    approve: approved,
    ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
  });
  printAnswer(ctx, answer, `${approved ? 'approved' : 'rejected'} step ${step} of run ${runId}`);
  return 0;
}

export async function signal(
  ctx: Context,
  runId: string,
  name: string,
  payload?: string,
): Promise<number> {
  let value: unknown;
  if (payload !== undefined) {
    try {
      value = JSON.parse(payload);
    } catch (err) {
      throw new UsageError(`--payload is not valid JSON: ${(err as Error).message}`);
    }
  }
  printAnswer(ctx, await ctx.client.signal(runId, name, value), `signal ${name} sent to ${runId}`);
  return 0;
}

export async function rerun(ctx: Context, runId: string, fromJob?: string): Promise<number> {
  printAnswer(ctx, await ctx.client.rerun(runId, fromJob), `rerun of ${runId} requested`);
  return 0;
}

// ---------------------------------------------------------------------------- helpers

async function readSpecFile(
  cwd: string,
  file: string,
): Promise<{ text: string; format: 'yaml' | 'json' }> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}${code ? ` (${code})` : ''}`);
  }
  const ext = extname(file).toLowerCase();
  const format =
    ext === '.json' || (ext !== '.yml' && ext !== '.yaml' && text.trimStart().startsWith('{'))
      ? 'json'
      : 'yaml';
  return { text, format };
}

/** The spec's `name`, read leniently: the server validates the rest and reports every problem. */
function specName(text: string): string | undefined {
  try {
    const value: unknown = parseYaml(text, {
      version: '1.2',
      schema: 'core',
      logLevel: 'silent',
    });
    const name = (value as { name?: unknown } | null)?.name;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

function isTransient(err: unknown): boolean {
  return (
    err instanceof ApiUnreachableError ||
    (err instanceof ApiError && [502, 503, 504].includes(err.status))
  );
}

function printJson(ctx: Context, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}

/** The answer's JSON when it has one (a 202 with an empty body has not), else `fallback`. */
function printAnswer(ctx: Context, answer: Answer<unknown>, fallback: string): void {
  if (answer.body === undefined || answer.body === null) ctx.out(fallback);
  else printJson(ctx, answer.body);
}
