import { randomUUID } from 'node:crypto';
import { ulid } from 'ulidx';
import { type JobTask, withPriority } from '../queue/message.js';
import { LIMITS } from '../spec/limits.js';
import { allShards, globalKeys, runKeys, shardOf, tenantKeys } from './keys.js';
import type { ScriptRedis } from './scripts.js';

/** What a new run is written with; every value already a string for the hash. */
export interface NewRun {
  tenant: string;
  runId: string;
  createdAt: number;
  runFields: Record<string, string>;
  jobFields: Record<string, string>;
  queued: string[];
  /** A rerun: the step records and keys of the jobs it reuses, and where they come from. */
  reused?: { stepFields: Record<string, string>; jobs: string[]; from: string };
}

/** The tenant's side of a new run (admitTenant): quota and rate ('' none), run-list trim age. */
export interface TenantAdmission {
  maxRunsInFlight?: number;
  rate?: { perSecond: number; burst: number };
  retentionMs: number;
}

export type Admission =
  | { kind: 'created' | 'existed' }
  | { kind: 'rate-limited'; retryAfterMs: number }
  | { kind: 'over-quota'; live: number };

export type ClaimResult =
  | {
      kind: 'claimed';
      fence: string;
      spec: string;
      inputs: string;
      trigger: string;
      workflow: string;
      env: string;
      /** Status and outputs JSON of each need, by job key. */
      needs: Map<string, { status: string; outputs: string }>;
      /** Step record JSON by flattened step index, where one was committed. */
      stepRecords: (string | null)[];
      /** What the job's wait was resolved with (JSON), when it was woken by one. */
      resolved: string;
      /** Where this attempt's timeoutMs counts from (ms; see job-deadline.ts). */
      timeoutFrom: number;
    }
  | { kind: 'missing' | 'run-finished' | 'stale' | 'lease-held' | 'gated' };

const CLAIM_CODES = {
  '-1': 'missing',
  '-2': 'run-finished',
  '-3': 'stale',
  '-4': 'lease-held',
  '-5': 'gated',
} as const;

export type JobEnd = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/**
 * Who settles a job: '' its claim holder (fence), 'expired' the reaper (fence and a
 * lapsed lease), 'token' the dead-letter reconciler (the task's dispatch token).
 */
export type SettleMode = '' | 'expired' | 'token';

type RunRef = Pick<JobTask, 'tenant' | 'runId'>;

/** The task a script's reply names: its job, attempt and token, and priority ('' normal). */
function taskOf(
  run: RunRef,
  jobKey: string,
  attempt: number | string,
  token: unknown,
  priority: string | undefined,
): JobTask {
  return {
    tenant: run.tenant,
    runId: run.runId,
    jobKey,
    attempt: Number(attempt),
    token: String(token),
    ...withPriority(priority),
  };
}

/** Tasks from a script's flat `job, token, priority, …` list: first attempts of newly queued jobs. */
function tasksOf(run: RunRef, flat: string[]): JobTask[] {
  const tasks: JobTask[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    tasks.push(taskOf(run, flat[i] as string, 1, flat[i + 1], flat[i + 2]));
  }
  return tasks;
}

export interface StepCommit {
  index: number;
  stepKey: string;
  record: string;
}

export interface FinishedStep extends StepCommit {
  eventType: string;
  eventData: string;
}

/** What a run's end sets off needs to know of it (run-finished.ts), as finishJob tells. */
export interface RunEnd {
  parentRunId: string;
  hasMemberships: boolean;
  cancelRequested: boolean;
}

function runEndOf(raw: string): RunEnd {
  const [parentRunId = '', groups, cancelled] = raw.split('|');
  return { parentRunId, hasMemberships: groups === '1', cancelRequested: cancelled === '1' };
}

/** A finished step as the five script arguments writeStep (shared.ts) reads; '' for none. */
function stepArgs(step: FinishedStep | undefined): (string | number)[] {
  return step
    ? [step.index, step.stepKey, step.record, step.eventType, step.eventData]
    : ['', '', '', '', ''];
}

/** Raw hashes of one run, for the run document. */
export interface RunSnapshot {
  run: Record<string, string>;
  jobs: Record<string, string>;
  steps: Record<string, string>;
}

export interface RunEvent {
  id: string;
  fields: Record<string, string>;
}

/** Typed wrappers over the run scripts: one Redis round trip each. */
export function createRunStore(redis: ScriptRedis, prefix: string) {
  const keysOf = (tenant: string, runId: string) => runKeys(prefix, tenant, runId);

  return {
    /**
     * Admission is three slots (Redis Cluster), written in this order, each only
     * once the one before it answered: the reaper's worklist, the tenant's quota
     * and indexes, the run. A failure before the run leaves index entries that
     * listings skip and the reaper forgets (reap.ts: a run id it cannot read, once
     * older than a grace period); never a run that nothing indexes.
     */
    async createRun(run: NewRun, tenant: TenantAdmission): Promise<Admission> {
      const k = keysOf(run.tenant, run.runId);
      const member = `${run.tenant}/${run.runId}`;
      await redis.zadd(
        globalKeys(prefix).activeRuns(shardOf(run.runId)),
        'NX',
        run.createdAt,
        member,
      );
      const t = tenantKeys(prefix, run.tenant);
      const [code, detail] = (await redis.admitTenant(
        t.live,
        t.runs,
        t.submitBucket,
        run.createdAt,
        run.runId,
        tenant.maxRunsInFlight ?? '',
        tenant.rate?.perSecond ?? '',
        tenant.rate?.burst ?? '',
        // Score 0 for all: run ids are ULIDs, so lexical order is creation order.
        `run_${ulid(Math.max(0, run.createdAt - tenant.retentionMs)).slice(0, 10)}`,
      )) as [number, number];
      if (code !== 1) {
        // Refused: the worklist entry goes now rather than at the reaper's grace.
        await redis.zrem(globalKeys(prefix).activeRuns(shardOf(run.runId)), member);
        return code === -1
          ? { kind: 'rate-limited', retryAfterMs: detail }
          : { kind: 'over-quota', live: detail };
      }
      const created = await redis.createRun(
        k.run,
        k.jobs,
        k.events,
        k.steps,
        run.createdAt,
        JSON.stringify(run.runFields),
        JSON.stringify(run.jobFields),
        JSON.stringify(run.queued),
        JSON.stringify(run.reused?.stepFields ?? {}),
        JSON.stringify(run.reused?.jobs ?? []),
        JSON.stringify({ reused: true, from: run.reused?.from ?? '' }),
      );
      return { kind: created === 1 ? 'created' : 'existed' };
    },

    /** Count a child run against its root's tree; false when the tree is full. */
    async countDescendant(
      tenant: string,
      rootRunId: string,
      childRunId: string,
      max: number,
    ): Promise<boolean> {
      const root = keysOf(tenant, rootRunId);
      return (await redis.countDescendant(root.run, root.tree, childRunId, max)) === 1;
    },

    async claimJob(task: JobTask, now: number, leaseMs: number): Promise<ClaimResult> {
      const k = keysOf(task.tenant, task.runId);
      const reply = (await redis.claimJob(
        k.run,
        k.jobs,
        k.steps,
        k.events,
        task.jobKey,
        task.attempt,
        task.token,
        now,
        leaseMs,
        randomUUID(),
      )) as [number, ...unknown[]];
      const code = reply[0];
      if (code !== 1) return { kind: CLAIM_CODES[String(code) as keyof typeof CLAIM_CODES] };
      const [
        ,
        fence,
        spec,
        inputs,
        trigger,
        workflow,
        env,
        needsFlat,
        stepRecords,
        resolved,
        timeoutFrom,
      ] = reply as [
        number,
        number,
        string,
        string,
        string,
        string,
        string,
        string[],
        (string | null)[],
        string,
        string,
      ];
      const needs = new Map<string, { status: string; outputs: string }>();
      for (let i = 0; i < needsFlat.length; i += 3) {
        needs.set(needsFlat[i] as string, {
          status: needsFlat[i + 1] as string,
          outputs: needsFlat[i + 2] as string,
        });
      }
      return {
        kind: 'claimed',
        fence: String(fence),
        spec,
        inputs,
        trigger,
        workflow,
        env,
        needs,
        stepRecords,
        resolved,
        timeoutFrom: Number(timeoutFrom),
      };
    },

    /**
     * Record a finished step and/or a started one. `stale`: a newer claim holds the
     * job, nothing was written; `cancelling`: written, but the run is being cancelled.
     */
    async commitStep(
      task: JobTask,
      fence: string,
      now: number,
      leaseMs: number,
      done?: FinishedStep,
      started?: StepCommit,
    ): Promise<'ok' | 'stale' | 'cancelling'> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.commitStep(
        k.run,
        k.jobs,
        k.steps,
        k.events,
        task.jobKey,
        fence,
        now,
        leaseMs,
        done?.index ?? '',
        done?.stepKey ?? '',
        done?.record ?? '',
        done?.eventType ?? '',
        done?.eventData ?? '',
        started?.index ?? '',
        started?.stepKey ?? '',
        started?.record ?? '',
        randomUUID(),
      );
      return reply === 1 ? 'ok' : reply === -2 ? 'cancelling' : 'stale';
    },

    /**
     * End the job and unblock dependents. Returns the tasks that became ready and
     * the run's final status when this was its last job; undefined when stale.
     * Mode `expired` (the reaper) acts only on a job whose lease ran out.
     */
    async finishJob(
      task: Pick<JobTask, 'tenant' | 'runId' | 'jobKey'>,
      fence: string,
      status: JobEnd,
      outputs: string,
      error: string,
      now: number,
      mode: SettleMode = '',
      last?: FinishedStep,
    ): Promise<{ runStatus: string; ready: JobTask[]; ended?: RunEnd } | undefined> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.finishJob(
        k.run,
        k.jobs,
        k.events,
        k.steps,
        k.groups,
        now,
        task.jobKey,
        fence,
        status,
        outputs,
        error,
        mode,
        ...stepArgs(last),
      );
      if (!Array.isArray(reply)) return undefined;
      const [runStatus, ended, ...flat] = reply as string[];
      return {
        runStatus: runStatus ?? '',
        ready: tasksOf(task, flat),
        ...(ended ? { ended: runEndOf(ended) } : {}),
      };
    },

    /** Queue the next attempt; undefined when stale, 'cancelling' when the run is being cancelled. */
    async retryJob(
      task: Pick<JobTask, 'tenant' | 'runId' | 'jobKey'>,
      fence: string,
      error: string,
      dueAt: number,
      now: number,
      mode: SettleMode = '',
      last?: FinishedStep,
    ): Promise<JobTask | 'cancelling' | undefined> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.retryJob(
        k.run,
        k.jobs,
        k.events,
        k.steps,
        now,
        task.jobKey,
        fence,
        error,
        dueAt,
        mode,
        ...stepArgs(last),
      );
      if (reply === -2) return 'cancelling';
      if (!Array.isArray(reply)) return undefined;
      const [attempt, token, priority] = reply as [number, string, string];
      return taskOf(task, task.jobKey, attempt, token, priority);
    },

    /** Checkpoint: the job goes back to the queue under a new token; undefined when stale. */
    async requeueJob(task: JobTask, fence: string, now: number): Promise<JobTask | undefined> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.requeueJob(k.run, k.jobs, k.events, now, task.jobKey, fence);
      if (!Array.isArray(reply)) return undefined;
      const [token, priority] = reply as [string, string];
      return taskOf(task, task.jobKey, task.attempt, token, priority);
    },

    async renewLease(
      task: JobTask,
      fence: string,
      now: number,
      leaseMs: number,
    ): Promise<'ok' | 'stale' | 'cancelling'> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.renewLease(k.run, k.jobs, now, task.jobKey, fence, leaseMs);
      return reply === 1 ? 'ok' : reply === -2 ? 'cancelling' : 'stale';
    },

    /**
     * Cancel (or, for a run timeout, fail) a run. `missing` / `finished` for runs
     * that do not exist or already ended; else the run's status if it ended now.
     */
    async cancelRun(
      tenant: string,
      runId: string,
      now: number,
      opts: { finalStatus: 'cancelled' | 'failed'; error?: string; reason?: string },
    ): Promise<
      { kind: 'missing' | 'finished' } | { kind: 'cancelling'; runStatus: string; running: number }
    > {
      const k = keysOf(tenant, runId);
      const reply = await redis.cancelRun(
        k.run,
        k.jobs,
        k.events,
        now,
        opts.finalStatus,
        opts.error ?? '',
        opts.reason ?? '',
        randomUUID(),
      );
      if (reply === -1) return { kind: 'missing' };
      if (reply === -2) return { kind: 'finished' };
      const [runStatus, running] = reply as [string, number];
      return { kind: 'cancelling', runStatus, running };
    },

    /** The run ended: drop it from the tenant's live runs, then from the reaper's worklist. */
    async forgetActive(tenant: string, runId: string): Promise<void> {
      await redis.zrem(tenantKeys(prefix, tenant).live, runId);
      await redis.zrem(globalKeys(prefix).activeRuns(shardOf(runId)), `${tenant}/${runId}`);
    },

    /** Every `<tenant>/<runId>` on the reaper's worklist, all shards (tests, benches). */
    async allActive(): Promise<string[]> {
      const shards = await Promise.all(
        allShards().map((shard) => redis.zrange(globalKeys(prefix).activeRuns(shard), 0, -1)),
      );
      return shards.flat();
    },

    /**
     * One page of an active-runs shard from a ZSCAN cursor ('0' starts): the runs
     * and the cursor to go on from ('0' when the shard is done). ZSCAN returns every
     * run listed for the whole walk at least once, whatever is added or removed.
     */
    async scanActive(
      shard: number,
      cursor: string,
      count: number,
    ): Promise<{ cursor: string; runs: { tenant: string; runId: string }[] }> {
      const [next, flat] = await redis.zscan(
        globalKeys(prefix).activeRuns(shard),
        cursor,
        'COUNT',
        count,
      );
      const runs = [];
      for (let i = 0; i < flat.length; i += 2) {
        const m = flat[i] as string;
        const slash = m.indexOf('/');
        runs.push({ tenant: m.slice(0, slash), runId: m.slice(slash + 1) });
      }
      return { cursor: next, runs };
    },

    /** Each shard's ZSCAN cursor of the reaper's walk ('0' or none: from the start). */
    async reaperCursors(): Promise<Record<number, string>> {
      const all = await redis.hgetall(globalKeys(prefix).reaperCursor);
      return Object.fromEntries(Object.entries(all).map(([shard, c]) => [Number(shard), c]));
    },

    async saveReaperCursor(shard: number, cursor: string): Promise<void> {
      await redis.hset(globalKeys(prefix).reaperCursor, String(shard), cursor);
    },

    /** A task due later than SQS can delay (15 min): the schedule tick sends it when due. */
    async addTimer(task: JobTask, dueAt: number): Promise<void> {
      await redis.zadd(globalKeys(prefix).timers(shardOf(task.runId)), dueAt, JSON.stringify(task));
    },

    /** Up to `count` timer tasks of a shard due by `now` (raw JSON, for removeTimers). */
    async dueTimers(shard: number, now: number, count: number): Promise<string[]> {
      return redis.zrangebyscore(globalKeys(prefix).timers(shard), '-inf', now, 'LIMIT', 0, count);
    },

    async removeTimers(shard: number, raw: string[]): Promise<void> {
      if (raw.length > 0) await redis.zrem(globalKeys(prefix).timers(shard), ...raw);
    },

    /** The hashes the reaper decides from: run fields and every job field. */
    async reapView(
      tenant: string,
      runId: string,
    ): Promise<{ run: Record<string, string>; jobs: Record<string, string> }> {
      const k = keysOf(tenant, runId);
      const [run, jobs] = await Promise.all([
        redis.hmget(k.run, 'status', 'timeoutAt', 'cancelRequested', 'gate'),
        redis.hgetall(k.jobs),
      ]);
      const [status, timeoutAt, cancelRequested, gate] = run;
      const fields: Record<string, string> = {};
      if (status) fields.status = status;
      if (timeoutAt) fields.timeoutAt = timeoutAt;
      if (cancelRequested) fields.cancelRequested = cancelRequested;
      if (gate) fields.gate = gate;
      return { run: fields, jobs };
    },

    async spec(tenant: string, runId: string): Promise<string | null> {
      return redis.hget(keysOf(tenant, runId).run, 'spec');
    },

    /** Note a concurrency membership before taking it, so a run's end can release it. */
    async addMembership(
      tenant: string,
      runId: string,
      group: string,
      member: string,
    ): Promise<void> {
      await redis.sadd(keysOf(tenant, runId).groups, `${group}\n${member}`);
    },

    async addChild(tenant: string, runId: string, childRunId: string): Promise<void> {
      await redis.sadd(keysOf(tenant, runId).children, childRunId);
    },

    async children(tenant: string, runId: string): Promise<string[]> {
      return redis.smembers(keysOf(tenant, runId).children);
    },

    async memberships(tenant: string, runId: string): Promise<{ group: string; member: string }[]> {
      const all = await redis.smembers(keysOf(tenant, runId).groups);
      return all.map((m) => {
        const nl = m.lastIndexOf('\n');
        return { group: m.slice(0, nl), member: m.slice(nl + 1) };
      });
    },

    async dropMembership(
      tenant: string,
      runId: string,
      group: string,
      member: string,
    ): Promise<void> {
      await redis.srem(keysOf(tenant, runId).groups, `${group}\n${member}`);
    },

    /**
     * The job must wait: it gives up its claim (suspend-job.ts). The task that
     * claims it at `wakeAt`, and whether it was queued again at once (a signal sent
     * before it waited); undefined when the fence is stale.
     */
    async suspendJob(
      task: JobTask,
      fence: string,
      wait: { waitingFor: string; wakeAt?: number; signal?: string; event?: string },
      now: number,
    ): Promise<{ task: JobTask; queued: boolean } | 'cancelling' | undefined> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.suspendJob(
        k.run,
        k.jobs,
        k.events,
        k.signals,
        now,
        task.jobKey,
        fence,
        wait.waitingFor,
        wait.wakeAt ?? '',
        wait.signal ?? '',
        wait.event ?? '',
      );
      if (reply === -2) return 'cancelling';
      if (!Array.isArray(reply)) return undefined;
      const [token, priority, queued] = reply as [string, string, number];
      return {
        task: taskOf(task, task.jobKey, task.attempt, token, priority),
        queued: queued === 1,
      };
    },

    /**
     * Resolve what a job waits for (resolve-wait.ts): the woken job's task to send;
     * 'kept' for a signal nobody waits for yet; else why nothing happened.
     */
    async resolveWait(
      tenant: string,
      runId: string,
      wait: { kind: 'approval' | 'signal' | 'workflow'; key: string },
      resolution: unknown,
      event: { type: string; data: unknown },
      now: number,
    ): Promise<JobTask | 'kept' | 'missing' | 'finished' | 'not-waiting' | 'full'> {
      const k = keysOf(tenant, runId);
      const reply = await redis.resolveWait(
        k.run,
        k.jobs,
        k.events,
        k.signals,
        now,
        wait.kind,
        wait.key,
        JSON.stringify(resolution),
        event.type,
        JSON.stringify(event.data),
        LIMITS.keptSignals,
      );
      if (reply === -1) return 'missing';
      if (reply === -4) return 'full';
      if (reply === -2) return 'finished';
      if (reply === -3) return 'not-waiting';
      const [code, jobKey, attempt, token, priority] = reply as [
        number,
        string,
        number,
        string,
        string,
      ];
      if (code === 2) return 'kept';
      return taskOf({ tenant, runId }, jobKey, attempt, token, priority);
    },

    /** Queue a waiting job again; else the status it has instead. */
    async wakeJob(
      tenant: string,
      runId: string,
      jobKey: string,
      now: number,
    ): Promise<JobTask | { status: string }> {
      const k = keysOf(tenant, runId);
      const reply = (await redis.wakeJob(k.run, k.jobs, k.events, now, jobKey)) as [
        number,
        string,
        string,
      ];
      if (reply[0] === -1) return { status: reply[1] };
      const [attempt, token, priority] = reply;
      return taskOf({ tenant, runId }, jobKey, attempt, token, priority);
    },

    /** Lift a run's concurrency gate; the tasks of its queued jobs, to send. */
    async ungateRun(tenant: string, runId: string): Promise<JobTask[]> {
      const k = keysOf(tenant, runId);
      const flat = (await redis.ungateRun(k.run, k.jobs)) as string[];
      const tasks: JobTask[] = [];
      for (let i = 0; i < flat.length; i += 4) {
        tasks.push(
          taskOf(
            { tenant, runId },
            flat[i] as string,
            flat[i + 1] as string,
            flat[i + 2],
            flat[i + 3],
          ),
        );
      }
      return tasks;
    },

    async snapshot(tenant: string, runId: string): Promise<RunSnapshot | undefined> {
      const k = keysOf(tenant, runId);
      const [run, jobs, steps] = await Promise.all([
        redis.hgetall(k.run),
        redis.hgetall(k.jobs),
        redis.hgetall(k.steps),
      ]);
      if (!run.id) return undefined;
      return { run, jobs, steps };
    },

    /** Run fields only (status, workflow, …) for a batch of runs, e.g. a listing. */
    async runFields(
      tenant: string,
      runIds: string[],
      fields: string[],
    ): Promise<(string | null)[][]> {
      return Promise.all(runIds.map((id) => redis.hmget(keysOf(tenant, id).run, ...fields)));
    },

    /** Newest first, from the tenant index; `before` is an exclusive run-id cursor. */
    async listRunIds(tenant: string, count: number, before?: string): Promise<string[]> {
      const max = before === undefined ? '+' : `(${before}`;
      return redis.zrevrangebylex(tenantKeys(prefix, tenant).runs, max, '-', 'LIMIT', 0, count);
    },

    /** Events after the stream id `after` (exclusive), in order. */
    async readEvents(
      tenant: string,
      runId: string,
      after: string | undefined,
      limit: number,
    ): Promise<RunEvent[]> {
      const k = keysOf(tenant, runId);
      const start = after ? `(${after}` : '-';
      const [entries, archived] = await Promise.all([
        redis.xrange(k.events, start, '+', 'COUNT', limit),
        // A finished run's events: archived in one field when it ended (shared.ts endRun).
        redis.hget(k.run, 'eventLog'),
      ]);
      if (archived) return archivedEvents(archived, after, limit);
      return entries.map(([id, flat]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
        return { id, fields };
      });
    },
  };
}

export type RunStore = ReturnType<typeof createRunStore>;

/** Stream ids `<ms>-<seq>` in order. */
function idAfter(id: string, after: string): boolean {
  const [ms = 0, seq = 0] = id.split('-').map(Number);
  const [ams = 0, aseq = 0] = after.split('-').map(Number);
  return ms > ams || (ms === ams && seq > aseq);
}

/** The rows of an archived event log (shared.ts endRun): `[id, type, at offset, job, step, data]`. */
function archivedRows(archived: string): string[][] {
  if (archived.startsWith('[')) return JSON.parse(archived) as string[][];
  let prevMs = 0;
  return archived.split('\x1e').map((row) => {
    const [delta = '', ...fields] = row.split('\x1f');
    const dash = delta.indexOf('-');
    prevMs += Number(delta.slice(0, dash));
    return [`${prevMs}${delta.slice(dash)}`, ...fields];
  });
}

function archivedEvents(archived: string, after: string | undefined, limit: number): RunEvent[] {
  const out: RunEvent[] = [];
  for (const [id = '', type = '', at = '', job = '', step = '', data = ''] of archivedRows(
    archived,
  )) {
    if (after !== undefined && !idAfter(id, after)) continue;
    const fields: Record<string, string> = {
      type,
      at: at && String(Number.parseInt(id, 10) + Number(at)),
    };
    if (job) fields.job = job;
    if (step) fields.step = step;
    if (data) fields.data = data;
    out.push({ id, fields });
    if (out.length === limit) break;
  }
  return out;
}
