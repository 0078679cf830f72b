/**
 * What `watch` knows of a run, built from the run document it starts from and the
 * events that follow, and how it is shown: one plain line per event (with the event's
 * own time), or a tree of jobs and steps with durations and a progress line for a
 * terminal. Pure: callers pass the events and the clock.
 */
import {
  type ErrorDoc,
  type EventDoc,
  isFinalStatus,
  type RunDoc,
  type WaitingFor,
} from '../api/documents.js';
import { clock, seconds } from './format.js';

export interface StepView {
  id: string;
  status: string;
  startedAt?: number;
  finishedAt?: number;
  tries?: number;
}

export interface JobView {
  key: string;
  status: string;
  attempt: number;
  startedAt?: number;
  finishedAt?: number;
  steps: StepView[];
  /** Why it waits, in words (while `waiting`). */
  waiting?: string;
  /** The approval step it waits at (while `waiting`). */
  gate?: string;
}

export interface RunView {
  id: string;
  workflow: string;
  status: string;
  startedAt?: number;
  finishedAt?: number;
  jobs: Map<string, JobView>;
}

const ms = (iso: string | null | undefined) => {
  const t = Date.parse(iso ?? '');
  return Number.isFinite(t) ? t : undefined;
};

/** The view of a run document (the state before the first event `watch` reads). */
export function viewOf(doc: RunDoc): RunView {
  const jobs = new Map<string, JobView>();
  for (const [key, job] of Object.entries(doc.jobs ?? {})) {
    jobs.set(key, {
      key,
      status: job.status,
      attempt: job.attempt ?? 0,
      ...defined('startedAt', ms(job.startedAt)),
      ...defined('finishedAt', ms(job.finishedAt)),
      ...(job.status === 'waiting' ? waitingOf(job.waitingFor ?? undefined) : {}),
      steps: (job.steps ?? []).map((s) => ({
        id: s.id,
        status: s.status,
        ...defined('startedAt', ms(s.startedAt)),
        ...defined('finishedAt', ms(s.finishedAt)),
        ...defined('tries', s.tries),
      })),
    });
  }
  return {
    id: doc.id,
    workflow: doc.workflow ?? '',
    status: doc.status,
    ...defined('startedAt', ms(doc.startedAt)),
    ...defined('finishedAt', ms(doc.finishedAt)),
    jobs,
  };
}

function defined<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

/** The run's status once this event happened, if it says so. */
export function runEnd(e: EventDoc): string | undefined {
  const [kind, status = ''] = e.type.split('.');
  return kind === 'run' && isFinalStatus(status) ? status : undefined;
}

/** The status an event's verb leaves its subject in. */
const statusOf = (what: string) =>
  what === 'started' ? 'running' : what === 'retrying' ? 'queued' : what;

/** Apply one event to the view (in place). */
export function applyEvent(view: RunView, e: EventDoc): void {
  const at = ms(e.at);
  const [kind, what = ''] = e.type.split('.');
  if (kind === 'run') {
    if (what === 'created') return;
    view.status = statusOf(what);
    if (what === 'started') view.startedAt = at;
    if (isFinalStatus(what)) view.finishedAt = at;
    return;
  }
  const job = e.job ? jobOf(view, e.job) : undefined;
  if (!job) return;
  if (kind === 'job') {
    job.status = statusOf(what);
    // The step a job waits at waits with it; a cancel ends it with the job (as the document shows).
    const live = job.steps.find((st) => st.status === 'running' || st.status === 'waiting');
    if (live && what === 'waiting') live.status = 'waiting';
    if (live && what === 'started') live.status = 'running';
    if (live && what === 'cancelled') {
      live.status = 'cancelled';
      live.finishedAt = at;
    }
    const attempt = Number(e.data?.attempt);
    if (Number.isFinite(attempt) && attempt > 0) job.attempt = attempt;
    // A job's start is its first one (as in the run document), not its wake-up after a wait.
    if (what === 'started') job.startedAt ??= at;
    if (isFinalStatus(what)) job.finishedAt = at;
    delete job.waiting;
    delete job.gate;
    // A `job.waiting` event's data is the job's waitingFor.
    if (what === 'waiting') Object.assign(job, waitingOf(e.data as WaitingFor));
    return;
  }
  if (kind === 'step' && e.step) {
    let step = job.steps.find((s) => s.id === e.step);
    if (!step) {
      step = { id: e.step, status: 'pending' };
      job.steps.push(step);
    }
    if (what === 'retrying') {
      step.tries = Number(e.data?.try ?? 0) + 1;
      return;
    }
    step.status = statusOf(what);
    if (what === 'started') {
      step.startedAt = at;
      delete step.finishedAt;
      step.tries = 1;
    }
    if (isFinalStatus(what)) step.finishedAt = at;
  }
}

function jobOf(view: RunView, key: string): JobView {
  let job = view.jobs.get(key);
  if (!job) {
    job = { key, status: 'pending', attempt: 0, steps: [] };
    view.jobs.set(key, job);
  }
  return job;
}

function waitingOf(w: WaitingFor | undefined): Pick<JobView, 'waiting' | 'gate'> {
  return { waiting: waitReason(w), ...(w?.kind === 'approval' ? { gate: w.step } : {}) };
}

/** Why a job waits, from its `waitingFor` (the data of `job.waiting`). */
export function waitReason(w: WaitingFor | undefined): string {
  switch (w?.kind) {
    case 'approval': {
      const who = w.approvers?.length ? ` from ${w.approvers.join(' or ')}` : '';
      return `for approval of step ${w.step}${who}`;
    }
    case 'signal':
      return `for signal ${w.name}`;
    case 'sleep':
      return `until ${w.until} (sleep)`;
    case 'concurrency': {
      const held = w.heldBy.length > 0 ? ` held by ${w.heldBy.join(', ')}` : '';
      return `for a slot of concurrency group ${w.group}${held}`;
    }
    case 'workflow':
      return `for child run ${w.runId}`;
    default:
      return 'waiting';
  }
}

/** The command that decides an approval, as a user would type it. */
export const approveCommand = (runId: string, step: string) =>
  `flowline approve ${runId} ${step}   (or --reject)`;

// ---------------------------------------------------------------------------- plain lines

function describe(e: ErrorDoc | undefined): string {
  return e && typeof e.message === 'string' ? `: ${e.message} (${e.code})` : '';
}

/**
 * The line an event prints (time = the event's own), or undefined for those the
 * run's result lines cover. Call it after `applyEvent`, so durations are known.
 */
export function eventLine(view: RunView, e: EventDoc): string | undefined {
  const time = clock(new Date(e.at));
  const [kind, what = ''] = e.type.split('.');
  const error = describe(e.data?.error as ErrorDoc | undefined);
  const line = (text: string) => `${time} ${text}`;
  if (kind === 'run') return isFinalStatus(what) ? undefined : line(`run ${what}`);
  if (kind === 'approval' && what === 'requested') {
    const step = String(e.data?.step ?? e.step ?? '');
    return line(
      `approval requested: step ${step} of job ${e.job} · ${approveCommand(view.id, step)}`,
    );
  }
  if (kind === 'approval' && what === 'decided') {
    const by = typeof e.data?.actor === 'string' ? ` by ${e.data.actor}` : '';
    return line(`step ${e.data?.step} ${e.data?.approved ? 'approved' : 'rejected'}${by}`);
  }
  if (kind === 'signal') return line(`signal ${e.data?.name} received by job ${e.job}`);
  const job = e.job ? view.jobs.get(e.job) : undefined;
  if (kind === 'job' && job) {
    const attempt = Number(e.data?.attempt);
    const nth = Number.isFinite(attempt) && attempt > 1 ? ` (attempt ${attempt})` : '';
    if (what === 'waiting') return line(`job ${job.key} waiting ${job.waiting ?? ''}`.trimEnd());
    if (what === 'retrying') return line(`job ${job.key} retrying${nth}${error}`);
    const took =
      isFinalStatus(what) && what !== 'skipped' ? seconds(job.startedAt, job.finishedAt) : '';
    return line(
      `job ${job.key} ${what}${what === 'queued' || what === 'started' ? nth : ''}${took ? ` in ${took}` : ''}${error}`,
    );
  }
  if (kind === 'step' && job && e.step) {
    const step = job.steps.find((s) => s.id === e.step);
    const name = `step ${job.key}/${e.step}`;
    if (what === 'retrying') return line(`${name} retrying (try ${e.data?.try} failed)${error}`);
    const took =
      isFinalStatus(what) && what !== 'skipped' ? seconds(step?.startedAt, step?.finishedAt) : '';
    const tries =
      step?.tries && step.tries > 1 && isFinalStatus(what) ? ` after ${step.tries} tries` : '';
    return line(`${name} ${what}${took ? ` in ${took}` : ''}${tries}${error}`);
  }
  return line(`${e.type}${e.job ? ` ${e.job}` : ''}`);
}

// ---------------------------------------------------------------------------- tree

const ICON: Record<string, string> = {
  pending: '·',
  queued: '○',
  running: '▶',
  waiting: '⏸',
  succeeded: '✔',
  failed: '✖',
  cancelled: '⊘',
  skipped: '↷',
};

/** The tree a terminal shows: the run, each job with its steps, and a progress line. */
export function renderTree(view: RunView, now: number): string {
  const lines = [
    `run ${view.id} ${view.workflow}  ${view.status}  ${seconds(view.startedAt, view.finishedAt ?? now)}`,
  ];
  const jobs = [...view.jobs.values()];
  const width = Math.max(0, ...jobs.map((j) => j.key.length));
  for (const job of jobs) {
    const took = seconds(
      job.startedAt,
      job.finishedAt ?? (job.status === 'running' ? now : undefined),
    );
    const attempt = job.attempt > 1 ? ` (attempt ${job.attempt})` : '';
    const why = job.status === 'waiting' && job.waiting ? `  ${job.waiting}` : '';
    lines.push(
      `  ${ICON[job.status] ?? '?'} ${job.key.padEnd(width)}  ${job.status}${attempt}  ${took}${why}`.trimEnd(),
    );
    if (job.status === 'pending' || job.status === 'skipped') continue;
    for (const step of job.steps) {
      const running = step.status === 'running' || step.status === 'waiting';
      const stepTook = seconds(step.startedAt, step.finishedAt ?? (running ? now : undefined));
      const tries = step.tries && step.tries > 1 ? ` (try ${step.tries})` : '';
      lines.push(
        `      ${ICON[step.status] ?? '?'} ${step.id}  ${step.status}${tries}  ${stepTook}`.trimEnd(),
      );
    }
  }
  lines.push(progressLine(view, jobs));
  return lines.join('\n');
}

function progressLine(view: RunView, jobs: JobView[]): string {
  const done = jobs.filter((j) => isFinalStatus(j.status)).length;
  const width = 20;
  const filled = jobs.length === 0 ? 0 : Math.round((done / jobs.length) * width);
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  const parts = [`${done}/${jobs.length} jobs done`];
  if (count('running') > 0) parts.push(`${count('running')} running`);
  if (count('waiting') > 0) parts.push(`${count('waiting')} waiting`);
  if (count('failed') > 0) parts.push(`${count('failed')} failed`);
  const gate = jobs.find((j) => j.status === 'waiting' && j.gate)?.gate;
  const hint = gate ? `  → ${approveCommand(view.id, gate)}` : '';
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${parts.join(' · ')}${hint}`;
}
