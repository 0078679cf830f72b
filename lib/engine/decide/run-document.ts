import type { JobDoc, RunDoc, WaitingFor } from '../../api/documents.js';
import type { ErrorRecord } from '../../errors.js';
import { evaluateDeep } from '../../expr/index.js';
import { LIMITS } from '../../spec/limits.js';
import type { Workflow } from '../../spec/schema.js';
import { jobField } from '../../store/job-fields.js';
import type { RunSnapshot } from '../../store/run-store.js';
import { type ConcurrencyWait, hasEnded, memberOf, type StepRecord } from '../model.js';
import { type NeedState, needsContext } from './job-context.js';
import { planRun, stepList } from './plan.js';

const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : null);
const json = <T>(raw: string | undefined, fallback: T): T =>
  raw ? (JSON.parse(raw) as T) : fallback;

/**
 * The run document of API.md, assembled from the run's raw hashes. Pure. Workflow
 * outputs are evaluated here from the jobs' committed outputs, so they never
 * depend on which invocation happened to finish the run.
 */
export function runDocument(
  snap: RunSnapshot,
  waits: Map<string, ConcurrencyWait> = new Map(),
): RunDoc {
  const { run, jobs: j, steps } = snap;
  const spec = json<Workflow>(run.spec, { name: run.workflow ?? '', jobs: {} } as Workflow);
  const plan = planRun(spec);
  const status = run.status ?? 'queued';

  const jobs: Record<string, JobDoc> = {};
  const states = new Map<string, NeedState>();
  for (const planned of plan) {
    const key = planned.key;
    const jobStatus = j[jobField('status', key)] ?? 'pending';
    const outputs = json<Record<string, unknown>>(j[jobField('outputs', key)], {});
    states.set(key, { status: jobStatus, outputs, continueOnError: planned.continueOnError });
    const job = spec.jobs[planned.name];
    const stepDocs = job
      ? stepList(job).flatMap((ps): StepRecord[] => {
          const record = json<Partial<StepRecord> | null>(steps[`${key}#${ps.index}`], null);
          // A finished run's records are lean (lua/includes/end-run.lua): the plan has the rest.
          if (record) {
            const full = {
              id: ps.key,
              ...(ps.step.name ? { name: ps.step.name } : {}),
              uses: ps.step.uses,
              outputs: {},
              error: null,
              ...record,
            } as StepRecord;
            return [shownStep(full, jobStatus, j, key)];
          }
          // Hooks appear only once they ran; plain steps always show.
          if (ps.hook) return [];
          return [
            {
              id: ps.key,
              ...(ps.step.name ? { name: ps.step.name } : {}),
              uses: ps.step.uses,
              status: jobStatus === 'skipped' || hasEnded(jobStatus) ? 'skipped' : 'pending',
              attempt: Number(j[jobField('attempt', key)] ?? 0),
              tries: 0,
              outputs: {},
              error: null,
              startedAt: null,
              finishedAt: null,
            },
          ];
        })
      : [];
    jobs[key] = {
      status: jobStatus,
      attempt: Number(j[jobField('attempt', key)] ?? 0),
      needs: planned.needs,
      outputs,
      startedAt: iso(j[jobField('startedAt', key)]),
      finishedAt: iso(j[jobField('finishedAt', key)]),
      error: json<ErrorRecord | null>(j[jobField('error', key)], null),
      attempts: attemptsOf(j, key),
      waitingFor:
        jobStatus === 'waiting'
          ? (waits.get(memberOf(run.id ?? '', key)) ??
            json<WaitingFor | null>(j[jobField('waitingFor', key)], null))
          : null,
      steps: stepDocs,
    };
  }

  const outputs =
    status === 'succeeded'
      ? boundedOutputs(workflowOutputs(spec, plan, states))
      : { ok: {} as Record<string, unknown> };
  return {
    id: run.id ?? '',
    workflow: run.workflow ?? '',
    version: run.version || null,
    revision: Number(run.revision ?? 0),
    status,
    trigger: json(run.trigger, {}),
    inputs: json(run.inputs, {}),
    outputs: 'ok' in outputs ? outputs.ok : {},
    error: ('ok' in outputs ? runError(run) : outputs.tooLarge) as ErrorRecord | null,
    createdAt: iso(run.createdAt),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    expiresAt: iso(run.expiresAt),
    parentRunId: run.parentRunId ?? null,
    rerunOf: run.rerunOf ?? null,
    // Who holds the slot and the place in line change by the moment: `waits` has them.
    waitingFor:
      run.gate && !hasEnded(status)
        ? (waits.get(memberOf(run.id ?? '')) ??
          ({ kind: 'concurrency', group: run.gate, heldBy: [], position: null } as ConcurrencyWait))
        : null,
    jobs,
  };
}

/** Each finished attempt with its error: the failed ones from `attemptError:<job>#<n>`, then the last. */
function attemptsOf(
  j: Record<string, string>,
  key: string,
): { attempt: number; error: ErrorRecord | null }[] {
  const current = Number(j[jobField('attempt', key)] ?? 0);
  const attempts: { attempt: number; error: ErrorRecord | null }[] = [];
  for (let n = 1; n < current; n++) {
    attempts.push({
      attempt: n,
      error: json<ErrorRecord | null>(j[jobField('attemptError', `${key}#${n}`)], null),
    });
  }
  if (current > 0)
    attempts.push({
      attempt: current,
      error: json<ErrorRecord | null>(j[jobField('error', key)], null),
    });
  return attempts;
}

function runError(
  run: Record<string, string>,
): { code: string; job?: string; message: string } | null {
  // A run-level error (timeout, cancel) is stored as such; a job failure is derived.
  if (run.error && (run.status === 'failed' || run.status === 'cancelled'))
    return json(run.error, null);
  if (run.status !== 'failed' || !run.failedJob) return null;
  const cause = json<ErrorRecord | null>(run.failedError, null);
  return {
    code: 'JOB_FAILED',
    job: run.failedJob,
    message: cause?.message ?? `job ${run.failedJob} failed`,
  };
}

/** SPEC.md limits: workflow outputs past 256 KiB are refused (the run keeps its status). */
function boundedOutputs(
  outputs: Record<string, unknown>,
): { ok: Record<string, unknown> } | { tooLarge: ErrorRecord } {
  const bytes = Buffer.byteLength(JSON.stringify(outputs), 'utf8');
  if (bytes <= LIMITS.outputBytes) return { ok: outputs };
  return {
    tooLarge: {
      code: 'OUTPUT_TOO_LARGE',
      message: `workflow outputs are ${bytes} bytes; at most ${LIMITS.outputBytes} (256 KiB)`,
    },
  };
}

function workflowOutputs(
  spec: Workflow,
  plan: ReturnType<typeof planRun>,
  states: Map<string, NeedState>,
): Record<string, unknown> {
  if (!spec.outputs) return {};
  const jobs = needsContext(
    plan,
    plan.map((p) => p.key),
    states,
  );
  try {
    return evaluateDeep(spec.outputs, { jobs }) as Record<string, unknown>;
  } catch {
    // The syntax was checked at registration; a GET must never fail on outputs.
    return {};
  }
}

/**
 * A step record as the document shows it. A cancel ends a waiting (or stranded
 * running) job in one script without rewriting its step, so the step of a cancelled
 * job that still reads waiting or running shows as cancelled, ended with its job.
 */
function shownStep(
  record: StepRecord,
  jobStatus: string,
  j: Record<string, string>,
  key: string,
): StepRecord {
  const tries = record.tries ?? (record.status === 'skipped' ? 0 : 1);
  if (jobStatus !== 'cancelled' || (record.status !== 'waiting' && record.status !== 'running')) {
    return { ...record, tries };
  }
  return {
    ...record,
    tries,
    status: 'cancelled',
    error: json<ErrorRecord | null>(j[jobField('error', key)], null) ?? {
      code: 'CANCELLED',
      message: 'the run was cancelled',
    },
    finishedAt: iso(j[jobField('finishedAt', key)]),
  };
}
