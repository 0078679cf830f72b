/**
 * Pure formatting for the CLI: problems, run tables, events, and the watch diff of
 * two run documents into progress lines. No I/O, no clock: callers pass the time.
 */
import type { FieldProblem } from '../errors.js';

// ---------------------------------------------------------------------------- wire shapes

/** An RFC 9457 problem document as the API answers it (API.md). */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors: FieldProblem[];
}

export interface ErrorDoc {
  code: string;
  message: string;
  job?: string;
}

export interface StepDoc {
  id: string;
  status: string;
  attempt?: number;
  error?: ErrorDoc | null;
}

export interface JobDoc {
  status: string;
  attempt?: number;
  error?: ErrorDoc | null;
  steps?: StepDoc[];
}

/** The part of the run document the CLI reads; the rest passes through untouched. */
export interface RunDoc {
  id: string;
  workflow?: string;
  status: string;
  outputs?: Record<string, unknown>;
  error?: ErrorDoc | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  jobs?: Record<string, JobDoc>;
}

export interface RunSummary {
  id: string;
  workflow: string;
  revision: number;
  status: string;
  createdAt: string;
}

export interface RunEvent {
  id: string;
  at: string;
  type: string;
  job?: string;
  step?: string;
  data?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------- problems

/** `path (line N): message`; the root path shows as `(root)`. */
export function formatFieldProblem(p: FieldProblem): string {
  const line = p.line === undefined ? '' : ` (line ${p.line})`;
  return `${p.path || '(root)'}${line}: ${p.message}`;
}

export function formatProblem(p: Problem): string[] {
  const detail = p.detail ? `: ${p.detail}` : '';
  return [
    `${p.title} (HTTP ${p.status})${detail}`,
    ...p.errors.map((e) => `  ${formatFieldProblem(e)}`),
  ];
}

// ---------------------------------------------------------------------------- runs

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

export const isTerminal = (status: string): boolean => TERMINAL.has(status);

/** Aligned columns; the last column is not padded. */
export function formatTable(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
  );
}

export function formatRunList(items: RunSummary[]): string[] {
  if (items.length === 0) return ['no runs'];
  return formatTable([
    ['ID', 'WORKFLOW', 'REV', 'STATUS', 'CREATED'],
    ...items.map((r) => [r.id, r.workflow, String(r.revision), r.status, r.createdAt]),
  ]);
}

export function formatEvent(e: RunEvent): string {
  const subject = e.job ? ` ${e.job}${e.step ? `/${e.step}` : ''}` : '';
  const data = e.data && Object.keys(e.data).length > 0 ? ` ${JSON.stringify(e.data)}` : '';
  return `${e.at} ${e.type}${subject}${data}`;
}

/** The lines that end a watch: final status (with duration), then outputs or error. */
export function runResultLines(run: RunDoc): string[] {
  const started = Date.parse(run.startedAt ?? '');
  const finished = Date.parse(run.finishedAt ?? '');
  const took =
    Number.isFinite(started) && Number.isFinite(finished)
      ? ` in ${((finished - started) / 1000).toFixed(1)}s`
      : '';
  const lines = [`run ${run.id} ${run.status}${took}`];
  if (run.error) lines.push(`error: ${describeError(run.error)}`);
  if (run.outputs && Object.keys(run.outputs).length > 0) {
    lines.push(`outputs: ${JSON.stringify(run.outputs, null, 2)}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------- watch

/** One observed status change of the run, a job (`name` = job key) or a step (`job/step`). */
export interface Change {
  kind: 'run' | 'job' | 'step';
  name: string;
  status: string;
  attempt?: number;
  error?: ErrorDoc | null;
}

/** HH:MM:SS in local time, the prefix of every watch line. */
export function clock(d: Date): string {
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/**
 * What changed from `prev` (undefined: nothing seen yet) to `next`. Jobs and steps
 * start out `pending` and moves to `pending` are not reported, so the first look
 * reports whatever already happened. A
 * container's line comes before its children's while it runs and after them once it
 * finished, so a job that went from pending to succeeded between two polls still
 * reads in order. The run's final status is left to `runResultLines`.
 */
export function diffRun(prev: RunDoc | undefined, next: RunDoc): Change[] {
  const jobChanges: Change[] = [];
  for (const [key, job] of Object.entries(next.jobs ?? {})) {
    const before = prev?.jobs?.[key];
    const own: Change[] = changed(before, job) ? [change('job', key, job)] : [];
    const quietSkips = job.status === 'skipped' || job.status === 'cancelled';
    const steps = (job.steps ?? []).flatMap((step) => {
      const old = before?.steps?.find((s) => s.id === step.id);
      if (!changed(old, step) || (quietSkips && step.status === 'skipped')) return [];
      return [change('step', `${key}/${step.id}`, step)];
    });
    jobChanges.push(...(isTerminal(job.status) ? [...steps, ...own] : [...own, ...steps]));
  }
  const runChanged = next.status !== prev?.status && !isTerminal(next.status);
  return runChanged ? [{ kind: 'run', name: '', status: next.status }, ...jobChanges] : jobChanges;
}

export function formatChange(c: Change, time: string): string {
  const subject = c.kind === 'run' ? 'run' : `${c.kind} ${c.name}`;
  const attempt = c.attempt !== undefined && c.attempt > 1 ? ` (attempt ${c.attempt})` : '';
  const error = c.error && c.status !== 'succeeded' ? `: ${describeError(c.error)}` : '';
  return `${time} ${subject} ${c.status}${attempt}${error}`;
}

export function watchLines(prev: RunDoc | undefined, next: RunDoc, time: string): string[] {
  return diffRun(prev, next).map((c) => formatChange(c, time));
}

function changed(
  before: { status: string; attempt?: number } | undefined,
  after: { status: string; attempt?: number },
): boolean {
  // Back to pending (a retry, a claim bumping the attempt) is not progress worth a line.
  if (after.status === 'pending') return false;
  if (!before) return true;
  return before.status !== after.status || (before.attempt ?? 0) !== (after.attempt ?? 0);
}

function change(kind: 'job' | 'step', name: string, doc: JobDoc | StepDoc): Change {
  return {
    kind,
    name,
    status: doc.status,
    ...(doc.attempt !== undefined ? { attempt: doc.attempt } : {}),
    ...(doc.error ? { error: doc.error } : {}),
  };
}

function describeError(e: ErrorDoc): string {
  return `${e.message} (${e.code})`;
}
