import { createHash } from 'node:crypto';
import { ulid } from 'ulidx';
import type { RunSummary } from '../../api/documents.js';
import { BOUNDS_DEFAULTS, type Config } from '../../config.js';
import { FlowlineError, QuotaError } from '../../errors.js';
import { evaluateDeep } from '../../expr/index.js';
import { log } from '../../log.js';
import { recordRunStarted } from '../../metrics.js';
import { type JobTask, withPriority } from '../../queue/message.js';
import { canonicalJson } from '../../spec/canonical-json.js';
import type { Concurrency } from '../../spec/schema.js';
import { dispatchToken, newDispatchKey } from '../../store/dispatch-token.js';
import { runCounter } from '../../store/job-fields.js';
import { resolveInputs } from '../decide/inputs.js';
import { initialJobFields, type PlannedJob, planRun } from '../decide/plan.js';
import type { AdmitRequest, Trigger } from '../model.js';
import { acquire } from './acquire.js';
import { type ConcurrencyDeps, groupName } from './concurrency.js';

export type { AdmitRequest, RunSummary, Trigger };

/** The bounds admission applies (lib/config.ts); the defaults where a config leaves one out. */
export type AdmitConfig = Partial<
  Pick<Config, 'retentionMs' | 'maxRunsInFlight' | 'submitRate' | 'submitBurst'>
>;

export function newRunId(now: number = Date.now()): string {
  return `run_${ulid(now)}`;
}

/** Stable fingerprint of a request body, for idempotency-key reuse checks. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}

export function runSummary(
  id: string,
  workflow: string,
  revision: number,
  status: string,
  createdAt: string,
): RunSummary {
  return {
    id,
    workflow,
    revision,
    status,
    createdAt,
    links: { self: `/v1/runs/${id}`, events: `/v1/runs/${id}/events` },
  };
}

/**
 * Create a run: inputs checked, plan built (pure), run + jobs + first events
 * written in one Redis transition, then the ready jobs sent to SQS. With a given
 * run id a repeated call writes nothing new and re-sends the first jobs, which is
 * harmless: a task's dispatch token lets only one delivery claim it.
 *
 * A run of a workflow with `concurrency` is written gated (claims refuse its jobs)
 * and then asks for a slot: granted, the gate is lifted and its jobs sent; else it
 * waits in line and the release that grants it sends them. A crash between the
 * write and the ask leaves a gated run that the reaper asks for.
 */
export async function admitRun(
  deps: ConcurrencyDeps & { now?: () => number; config?: AdmitConfig },
  req: AdmitRequest,
): Promise<{ summary: RunSummary; created: boolean }> {
  const now = (deps.now ?? Date.now)();
  const bounds = { ...BOUNDS_DEFAULTS, ...definedOnly(deps.config ?? {}) };
  const inputs = resolveInputs(req.spec, req.inputs);
  // An API (or CLI) run hands its inputs to `trigger.payload`, as GitHub's workflow_dispatch
  // event and KB Labs do (KB Labs specs read `trigger.payload.name`).
  const trigger =
    req.trigger.type === 'api' && req.trigger.payload === undefined
      ? { ...req.trigger, payload: inputs }
      : req.trigger;
  const plan = planRun(req.spec);
  const runId = req.runId ?? newRunId(now);
  const gate = req.spec.concurrency && {
    ...req.spec.concurrency,
    group: groupName(
      evaluateDeep(req.spec.concurrency.group, {
        inputs,
        trigger,
        run: { id: runId, attempt: 1, workflow: req.spec.name },
      }),
    ),
  };
  const dispatchKey = newDispatchKey();
  const { fields, queued, pending } = initialJobFields(plan, now, req.reuse, (n) =>
    dispatchToken(dispatchKey, n),
  );
  const createdAt = new Date(now).toISOString();
  const runFields: Record<string, string> = {
    id: runId,
    workflow: req.spec.name,
    version: req.spec.version ?? '',
    revision: String(req.revision),
    status: 'queued',
    spec: JSON.stringify(req.spec),
    inputs: JSON.stringify(inputs),
    env: JSON.stringify(req.env ?? {}),
    trigger: JSON.stringify(trigger),
    createdAt: String(now),
    dispatchKey,
    ...(req.spec.timeoutMs ? { timeoutAt: String(now + req.spec.timeoutMs) } : {}),
    ...(req.parentRunId ? { parentRunId: req.parentRunId } : {}),
    ...(req.rerunOf ? { rerunOf: req.rerunOf } : {}),
    ...(gate ? { gate: gate.group } : {}),
  };
  // A given id may name a run admitted before (a replayed key, a repeated cron fire):
  // it is answered as it is, without counting against quotas again.
  const send = (key: string) =>
    sendFirstJobs(
      deps,
      req.tenant,
      runId,
      firstTasks(req.tenant, runId, queued, plan, key),
      gate,
      now,
    );
  const existing =
    req.runId && !req.runIdIsNew ? await existingRun(deps, req.tenant, runId) : undefined;
  if (existing) return answerExisting(existing, send);
  const admission = await deps.runs
    .createRun(
      {
        tenant: req.tenant,
        runId,
        createdAt: now,
        runFields,
        // The run's counters live in its jobs hash, read and written with the jobs'
        // fields by every transition (lib/store/lua/includes/fields.lua).
        jobFields: {
          ...fields,
          [runCounter('pending')]: String(pending),
          [runCounter('failed')]: '0',
          [runCounter('dispatch')]: String(queued.length),
          [runCounter('key')]: dispatchKey,
          [runCounter('tenant')]: req.tenant,
          // Read by the script that ends the run (lua/includes/end-run.lua): how long its keys stay.
          [runCounter('retain')]: String(bounds.retentionMs),
        },
        queued,
        ...(req.reuse && req.reuse.size > 0
          ? {
              reused: {
                stepFields: req.reusedSteps ?? {},
                jobs: [...req.reuse.keys()],
                from: req.rerunOf ?? '',
              },
            }
          : {}),
      },
      {
        retentionMs: bounds.retentionMs,
        // Child runs are bounded by their tree (FLOWLINE_MAX_DESCENDANTS), not the tenant's rate.
        ...(req.parentRunId
          ? {}
          : {
              maxRunsInFlight: bounds.maxRunsInFlight,
              rate: { perSecond: bounds.submitRate, burst: bounds.submitBurst },
            }),
      },
    )
    .catch((err: unknown) => {
      // The run may have been written before the failure: whoever asked must not retry blindly.
      throw new FlowlineError('RUN_STATE_UNKNOWN', `run ${runId} may have been created`, {
        cause: err,
      });
    });
  if (admission.kind === 'rate-limited') {
    throw new QuotaError(
      'RATE_LIMITED',
      `tenant '${req.tenant}' starts runs faster than ${bounds.submitRate}/s`,
      admission.retryAfterMs,
    );
  }
  if (admission.kind === 'over-quota') {
    throw new QuotaError(
      'QUOTA_EXCEEDED',
      `tenant '${req.tenant}' has ${admission.live} runs in flight; at most ${bounds.maxRunsInFlight}`,
      IN_FLIGHT_RETRY_MS,
    );
  }
  const summary = runSummary(runId, req.spec.name, req.revision, 'queued', createdAt);
  if (admission.kind === 'existed') {
    // A concurrent admission of the same id won the race.
    const again = await existingRun(deps, req.tenant, runId);
    if (again) return answerExisting(again, send);
  }
  await send(dispatchKey).catch((err: unknown) => {
    throw new FlowlineError('RUN_STATE_UNKNOWN', `run ${runId} was created`, { cause: err });
  });
  recordRunStarted();
  return { summary, created: true };
}

/** How long a tenant over its runs-in-flight quota is asked to wait: runs end on their own time. */
const IN_FLIGHT_RETRY_MS = 10_000;

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** The summary, status and dispatch key of a run already written under this id, or undefined. */
async function existingRun(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
): Promise<{ summary: RunSummary; status: string; dispatchKey: string } | undefined> {
  const [workflow, revision, status, at, dispatchKey] =
    (
      await deps.runs.runFields(
        tenant,
        [runId],
        ['workflow', 'revision', 'status', 'createdAt', 'dispatchKey'],
      )
    )[0] ?? [];
  if (!workflow) return undefined;
  const summary = runSummary(
    runId,
    workflow,
    Number(revision),
    status ?? 'queued',
    new Date(Number(at)).toISOString(),
  );
  return { summary, status: status ?? 'queued', dispatchKey: dispatchKey ?? '' };
}

/** The first admission may have crashed before its send; a stale re-send is dropped at claim. */
async function answerExisting(
  existing: { summary: RunSummary; status: string; dispatchKey: string },
  send: (dispatchKey: string) => Promise<void>,
): Promise<{ summary: RunSummary; created: false }> {
  if (existing.status === 'queued') await send(existing.dispatchKey);
  return { summary: existing.summary, created: false };
}
/** Send a new run's first jobs, once it holds its concurrency slot if it needs one. */
async function sendFirstJobs(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  tasks: JobTask[],
  gate: (Concurrency & { group: string }) | undefined,
  now: number,
): Promise<void> {
  if (gate) {
    const slot = await acquire(deps, tenant, runId, undefined, gate.group, gate, now);
    if (!slot.granted) return;
    tasks = await deps.runs.ungateRun(tenant, runId);
  }
  if (tasks.length === 0) return;
  try {
    await deps.queue.send(tasks);
  } catch (err) {
    // The run is written: its queued jobs are the outbox, and the schedule tick
    // sends what waited too long. Failing the submit would only invite a duplicate.
    log.warn({ err, runId, jobs: tasks.length }, 'first jobs not sent; the schedule tick will');
  }
}

/** Tasks of the jobs queued at creation: tokens 1..n of the run's key, as `initialJobFields` minted them. */
function firstTasks(
  tenant: string,
  runId: string,
  queued: string[],
  plan: PlannedJob[],
  dispatchKey: string,
): JobTask[] {
  return queued.map((jobKey, i) => ({
    tenant,
    runId,
    jobKey,
    attempt: 1,
    token: dispatchToken(dispatchKey, i + 1),
    ...withPriority(plan.find((p) => p.key === jobKey)?.priority),
  }));
}
