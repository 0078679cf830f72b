/**
 * One function per CLI command. Each returns the exit code: 0 success, 1 the run it
 * waited for did not succeed, 2 usage or API errors (thrown; main.ts prints them).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type EventDoc, isFinalStatus } from '../api/documents.js';
import { type FieldProblem, FlowlineError, ValidationError } from '../errors.js';
import { loadSpec } from '../spec/index.js';
import { specWarnings } from '../spec/warnings.js';
import { type Answer, ApiError, ApiUnreachableError, type Client } from './client.js';
import {
  formatEvent,
  formatFieldProblem,
  formatRunList,
  formatWorkflowList,
  runResultLines,
  stepLogLines,
} from './format.js';
import { applyEvent, eventLine, renderTree, runEnd, viewOf } from './live.js';

export interface Context {
  client: Client;
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
  /** A live screen when stdout is a terminal; absent: plain lines. */
  screen?: () => Screen;
}

/** Bad command line: printed with a pointer to `--help`, exit 2. */
export class UsageError extends FlowlineError {
  override readonly name = 'UsageError';
  /** `command`: whose usage line to print (else the general one). */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super('VALIDATION', message);
  }
}

const POLL_MS = 500;
/** Polls that may fail in a row (gateway hiccups, a restarting local stack) before watch gives up. */
const MAX_POLL_FAILURES = 5;
/** Empty polls of the event stream between looks at the run's own status (~5 s). */
const IDLE_CHECK = 10;

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
    ctx.err(`run ${summary.id} ${summary.status}; follow it: flowline watch ${summary.id}`);
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

/** What `watch` draws on a terminal: a frame replaced in place, then kept. */
export interface Screen {
  render(frame: string): void;
  done(): void;
}

/**
 * Follows a run from its event stream until it ends: one line per event with the
 * event's own time, or, on a terminal, a live tree of jobs and steps. Exit 0 when the
 * run succeeded, 1 when it failed or was cancelled.
 */
export async function watch(ctx: Context, runId: string): Promise<number> {
  const view = viewOf(await ctx.client.getRun(runId));
  const screen = ctx.screen?.();
  const draw = () => screen?.render(renderTree(view, ctx.now().getTime()));
  try {
    await tailEvents(ctx, runId, {
      follow: true,
      each: (e) => {
        applyEvent(view, e);
        if (screen) return;
        const line = eventLine(view, e);
        if (line !== undefined) ctx.out(line);
      },
      caughtUp: draw,
    });
  } finally {
    draw();
    screen?.done();
  }
  const doc = await ctx.client.getRun(runId);
  for (const line of runResultLines(doc)) ctx.out(line);
  return doc.status === 'succeeded' ? 0 : 1;
}

/** Every event of the run; with `follow`, new ones as they come until the run ends. */
export async function events(ctx: Context, runId: string, follow = false): Promise<number> {
  await tailEvents(ctx, runId, { follow, each: (e) => ctx.out(formatEvent(e)) });
  return 0;
}

/**
 * Reads a run's events in order from the first, following `next`. Without `follow` it
 * stops at the first empty page; with it, it waits for more until the run's end event.
 * `caughtUp` is called after each page and each wait. Rides out brief API outages.
 */
async function tailEvents(
  ctx: Context,
  runId: string,
  opts: { follow: boolean; each: (e: EventDoc) => void; caughtUp?: () => void },
): Promise<void> {
  let after: string | undefined;
  let failures = 0;
  let idle = 0;
  for (;;) {
    let page: Awaited<ReturnType<Client['events']>>;
    try {
      page = await ctx.client.events(runId, after);
      failures = 0;
    } catch (err) {
      failures += 1;
      if (!isTransient(err) || failures >= MAX_POLL_FAILURES) throw err;
      await ctx.sleep(POLL_MS);
      continue;
    }
    let ended = false;
    for (const e of page.items) {
      opts.each(e);
      if (runEnd(e)) ended = true;
    }
    if (page.next) after = page.next;
    opts.caughtUp?.();
    if (ended && opts.follow) return;
    if (page.items.length === 0) {
      if (!opts.follow) return;
      // A stream that lost its end (trimmed by retention) must not hold us forever.
      idle += 1;
      if (idle % IDLE_CHECK === 0 && isFinalStatus((await ctx.client.getRun(runId)).status)) return;
      await ctx.sleep(POLL_MS);
    } else idle = 0;
  }
}

/**
 * Each step's shell output and error, job by job (`job`: one job, or every instance of
 * a matrix job). With `follow`, a step's log prints once it finished, until the run ends.
 */
export async function logs(
  ctx: Context,
  runId: string,
  opts: { job?: string; follow?: boolean },
): Promise<number> {
  const printed = new Set<string>();
  for (;;) {
    const doc = await ctx.client.getRun(runId);
    const jobs = Object.entries(doc.jobs ?? {}).filter(
      ([key]) => opts.job === undefined || key === opts.job || key.startsWith(`${opts.job}[`),
    );
    if (opts.job !== undefined && jobs.length === 0) {
      const known = Object.keys(doc.jobs ?? {}).join(', ');
      throw new UsageError(`run ${runId} has no job '${opts.job}' (jobs: ${known})`);
    }
    for (const [key, job] of jobs) {
      for (const step of job.steps ?? []) {
        const id = `${key}/${step.id}#${step.attempt ?? 0}`;
        const done = isFinalStatus(step.status) && step.status !== 'skipped';
        const show = opts.follow
          ? done
          : done || step.status === 'running' || step.status === 'waiting';
        if (!show || printed.has(id)) continue;
        printed.add(id);
        for (const line of stepLogLines(key, step)) ctx.out(line);
      }
    }
    if (!opts.follow || isFinalStatus(doc.status)) {
      if (printed.size === 0) ctx.err(`no step of run ${runId} has run yet`);
      return 0;
    }
    await ctx.sleep(POLL_MS * 2);
  }
}

export async function workflows(ctx: Context): Promise<number> {
  const { items } = await ctx.client.listWorkflows();
  for (const line of formatWorkflowList(items)) ctx.out(line);
  return 0;
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
