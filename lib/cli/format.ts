/**
 * Pure formatting for the CLI: problems, run and workflow tables, events, step logs.
 * No I/O, no clock: callers pass the time. (`watch`'s lines and tree: live.ts.)
 */
import type {
  ErrorDoc,
  EventDoc,
  Problem,
  RunDoc,
  RunSummary,
  StepDoc,
  WorkflowSummary,
} from '../api/documents.js';
import type { FieldProblem } from '../errors.js';

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

export function formatEvent(e: EventDoc): string {
  const subject = e.job ? ` ${e.job}${e.step ? `/${e.step}` : ''}` : '';
  const data = e.data && Object.keys(e.data).length > 0 ? ` ${JSON.stringify(e.data)}` : '';
  return `${e.at} ${e.type}${subject}${data}`;
}

/** Seconds with one decimal between two epoch-ms times (`1.2s`); '' when one is unknown. */
export const seconds = (from: number | undefined, to: number | undefined): string =>
  from === undefined || to === undefined || !Number.isFinite(from) || !Number.isFinite(to)
    ? ''
    : `${(Math.max(0, to - from) / 1000).toFixed(1)}s`;

/** ` in 1.2s` between two ISO times of a document, or ''. */
function took(from: string | null | undefined, to: string | null | undefined): string {
  const s = seconds(Date.parse(from ?? ''), Date.parse(to ?? ''));
  return s ? ` in ${s}` : '';
}

/** The lines that end a watch: final status (with duration), then outputs or error. */
export function runResultLines(run: RunDoc): string[] {
  const lines = [`run ${run.id} ${run.status}${took(run.startedAt, run.finishedAt)}`];
  if (run.error) lines.push(`error: ${describeError(run.error)}`);
  if (run.outputs && Object.keys(run.outputs).length > 0) {
    lines.push(`outputs: ${JSON.stringify(run.outputs, null, 2)}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------- workflows, logs

export function formatWorkflowList(items: WorkflowSummary[]): string[] {
  if (items.length === 0) return ['no workflows registered (see: flowline register FILE)'];
  return formatTable([
    ['NAME', 'VERSION', 'REV', 'TRIGGERS'],
    ...items.map((w) => [w.name, w.version || '-', String(w.revision), w.triggers.join(',')]),
  ]);
}

/** HH:MM:SS in local time, the prefix of every watch line. */
export function clock(d: Date): string {
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/** One step's log: a header, its shell output (stdout, then stderr), its error. */
export function stepLogLines(jobKey: string, step: StepDoc): string[] {
  const tries = step.tries !== undefined && step.tries > 1 ? ` after ${step.tries} tries` : '';
  const head = `── ${jobKey}/${step.id} (${step.uses ?? '?'}) ${step.status}`;
  const lines = [`${head}${took(step.startedAt, step.finishedAt)}${tries}`];
  const text = (v: unknown) =>
    typeof v === 'string' && v !== '' ? v.replace(/\n$/, '') : undefined;
  const stdout = text(step.outputs?.stdout);
  const stderr = text(step.outputs?.stderr);
  if (stdout !== undefined) lines.push(...stdout.split('\n'));
  if (stderr !== undefined) lines.push('stderr:', ...stderr.split('\n'));
  if (step.error) lines.push(`error: ${describeError(step.error)}`);
  return lines;
}

function describeError(e: ErrorDoc): string {
  return `${e.message} (${e.code})`;
}
