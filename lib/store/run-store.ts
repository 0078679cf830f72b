import { randomUUID } from 'node:crypto';
import { ulid } from 'ulidx';
import { type JobTask, withPriority } from '../queue/message.js';
import { LIMITS } from '../spec/limits.js';
import {
  type ClaimOutcome,
  decode,
  type QueuedJob,
  RUN_CONSTANT_FIELDS,
  type RunConstants,
  type RunEnd,
  runConstantsOf,
} from './codes.js';
import { EVENT_SLOTS } from './events.js';
import { allShards, globalKeys, runKeys, shardOf, tenantKeys } from './keys.js';
import { createRunConstants } from './run-constants.js';
import type { ScriptRedis } from './scripts.js';
import { isStreamDump, streamDumpEntries } from './stream-dump.js';

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

type Claimed = Extract<ClaimOutcome, { kind: 'claimed' }>;

/** The claim script's outcome (codes.ts), its needs, started step and the run's constants read into shape. */
export type ClaimResult =
  | (Omit<Claimed, 'needs' | 'started' | 'constants'> &
      RunConstants & {
        /** Status and outputs JSON of each need, by job key. */
        needs: Map<string, { status: string; outputs: string }>;
        /**
         * The step this claim started itself (lua/claim-job.lua: the plan's first step, with
         * no record yet): its `running` record and step.started event are written.
         */
        started?: { index: number; startedAt: string };
      })
  | Exclude<ClaimOutcome, Claimed>;

export type JobEnd = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/**
 * Who settles a job: '' its claim holder (fence), 'expired' the reaper (fence and a
 * lapsed lease), 'token' the dead-letter reconciler (the task's dispatch token).
 */
export type SettleMode = '' | 'expired' | 'token';

type RunRef = Pick<JobTask, 'tenant' | 'runId'>;

/** The task to send for a job a script queued (codes.ts). */
function taskOf(run: RunRef, job: QueuedJob): JobTask {
  return {
    tenant: run.tenant,
    runId: run.runId,
    jobKey: job.jobKey,
    attempt: job.attempt,
    token: job.token,
    ...withPriority(job.priority),
  };
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

export type { RunEnd };

/** A finished step as the five script arguments writeStep (lua/includes/write-step.lua) reads; '' for none. */
function stepArgs(step: FinishedStep | undefined): (string | number)[] {
  return step
    ? [step.index, step.stepKey, leanRecord(step.record), step.eventType, step.eventData]
    : ['', '', '', '', ''];
}

/**
 * A step record as stored: without what the run document restores from the plan
 * (run-document.ts): its id, a plain name and uses, and empty outputs with no error
 * right after the attempt. Only structural text is matched (quotes inside JSON
 * strings are escaped); the run's end rewrote records so before (lua/includes/end-run.lua).
 */
export function leanRecord(record: string): string {
  return record
    .replace(/^\{"id":"[\w-]*",/, '{')
    .replace(/^\{"name":"[^"\\]*",/, '{')
    .replace(/^\{"uses":"[^"\\]*",/, '{')
    .replace(/("attempt":\d+,)"outputs":\{\},"error":null,/, '$1');
}

/** createRun's arguments after its keys (lua/create-run.lua): counts, then everything flat. */
function createRunArgs(run: NewRun): string[] {
  const runFields = Object.entries(run.runFields);
  const jobFields = Object.entries(run.jobFields);
  const stepFields = Object.entries(run.reused?.stepFields ?? {});
  const reused = run.reused?.jobs ?? [];
  return [
    String(run.createdAt),
    String(runFields.length),
    String(jobFields.length),
    String(stepFields.length),
    String(run.queued.length),
    String(reused.length),
    JSON.stringify({ reused: true, from: run.reused?.from ?? '' }),
    ...runFields.flat(),
    ...jobFields.flat(),
    ...stepFields.flat(),
    ...run.queued,
    ...reused,
  ];
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
  /** KEYS[1..4] of every run-scoped script (lua/loader.ts): run, jobs, steps, events. */
  const scriptKeys = (k: ReturnType<typeof keysOf>) => [k.run, k.jobs, k.steps, k.events] as const;
  /** What a run never changes, of the runs this process claimed jobs of lately. */
  const runConstants = createRunConstants();

  /** A run's constants read alone: a claim that counted on another claim's reply, which had none. */
  async function readConstants(k: ReturnType<typeof keysOf>): Promise<RunConstants> {
    return runConstantsOf(await redis.hmget(k.run, ...RUN_CONSTANT_FIELDS));
  }

  /**
   * Requests on keys of different slots that must take effect in order, each only if
   * the ones before it did. On one node they are sent together: one connection runs
   * them in the order written (auto-pipelining puts them in one write), so whatever
   * a failure leaves done is a prefix of them, and the caller waits one round trip.
   * On a cluster their nodes differ, so each waits for the one before it to answer.
   * Rejects with the first failure.
   */
  async function inOrder<T extends unknown[]>(
    ...requests: { [K in keyof T]: () => Promise<T[K]> }
  ): Promise<T> {
    if (!redis.isCluster) return (await Promise.all(requests.map((r) => r()))) as T;
    const out: unknown[] = [];
    for (const request of requests) out.push(await request());
    return out as T;
  }

  return {
    /**
     * Admission is three slots (Redis Cluster), written in this order, each only
     * once the one before it answered: the reaper's worklist, the tenant's quota
     * and indexes, the run. A failure before the run leaves index entries that
     * listings skip and the reaper forgets (reap.ts: a run id it cannot read, once
     * older than a grace period); never a run that nothing indexes. On one node the
     * three are one script (lua/admit-run.lua), in the same order.
     */
    async createRun(run: NewRun, tenant: TenantAdmission): Promise<Admission> {
      const k = keysOf(run.tenant, run.runId);
      const member = `${run.tenant}/${run.runId}`;
      const t = tenantKeys(prefix, run.tenant);
      const worklist = globalKeys(prefix).activeRuns(shardOf(run.runId));
      const tenantArgs = [
        run.runId,
        tenant.maxRunsInFlight ?? '',
        tenant.rate?.perSecond ?? '',
        tenant.rate?.burst ?? '',
        // Score 0 for all: run ids are ULIDs, so lexical order is creation order.
        `run_${ulid(Math.max(0, run.createdAt - tenant.retentionMs)).slice(0, 10)}`,
      ] as const;
      const runArgs = createRunArgs(run);
      if (!redis.isCluster) {
        return decode.admitRun(
          await redis.admitRun(
            ...scriptKeys(k),
            worklist,
            t.live,
            t.runs,
            t.submitBucket,
            run.createdAt,
            member,
            ...tenantArgs,
            ...runArgs.slice(1),
          ),
        );
      }
      const admitted = decode.admitTenant(
        await redis
          .zadd(worklist, 'NX', run.createdAt, member)
          .then(() =>
            redis.admitTenant(t.live, t.runs, t.submitBucket, run.createdAt, ...tenantArgs),
          ),
      );
      if (admitted.kind !== 'admitted') {
        // Refused: the worklist entry goes now rather than at the reaper's grace.
        await redis.zrem(worklist, member);
        return admitted;
      }
      return decode.createRun(await redis.createRun(...scriptKeys(k), ...runArgs));
    },

    /** Count a child run against its root's tree; false when the tree is full. */
    async countDescendant(
      tenant: string,
      rootRunId: string,
      childRunId: string,
      max: number,
    ): Promise<boolean> {
      const root = keysOf(tenant, rootRunId);
      const counted = decode.countDescendant(
        await redis.countDescendant(...scriptKeys(root), root.tree, Date.now(), childRunId, max),
      );
      return counted.kind === 'counted';
    },

    async claimJob(task: JobTask, now: number, leaseMs: number): Promise<ClaimResult> {
      const k = keysOf(task.tenant, task.runId);
      const runRef = `${task.tenant}/${task.runId}`;
      const ticket = runConstants.claim(runRef);
      const startedAt = new Date(now).toISOString();
      let claim: ClaimOutcome;
      try {
        claim = decode.claimJob(
          await redis.claimJob(
            ...scriptKeys(k),
            now,
            task.jobKey,
            task.attempt,
            task.token,
            now + leaseMs,
            randomUUID(),
            ticket.ask ? 0 : 1,
            startedAt,
          ),
        );
      } catch (err) {
        await ticket.settle();
        throw err;
      }
      const settled = ticket.settle(claim.kind === 'claimed' ? claim.constants : undefined);
      if (claim.kind !== 'claimed') return claim;
      let constants = await settled;
      if (!constants) {
        constants = await readConstants(k);
        runConstants.remember(runRef, constants);
      }
      const needs = new Map<string, { status: string; outputs: string }>();
      for (let i = 0; i < claim.needs.length; i += 3) {
        needs.set(claim.needs[i] as string, {
          status: claim.needs[i + 1] as string,
          outputs: claim.needs[i + 2] as string,
        });
      }
      const { started, constants: _sent, ...rest } = claim;
      return {
        ...rest,
        ...constants,
        needs,
        ...(started ? { started: { index: Number(started), startedAt } } : {}),
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
        ...scriptKeys(k),
        now,
        task.jobKey,
        fence,
        now + leaseMs,
        done?.index ?? '',
        done?.stepKey ?? '',
        done ? leanRecord(done.record) : '',
        done?.eventType ?? '',
        done?.eventData ?? '',
        started?.index ?? '',
        started?.stepKey ?? '',
        started ? leanRecord(started.record) : '',
        randomUUID(),
      );
      return decode.commitStep(reply).kind;
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
        ...scriptKeys(k),
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
      const out = decode.finishJob(reply);
      if (out.kind === 'stale') return undefined;
      return {
        runStatus: out.runStatus,
        ready: out.ready.map((job) => taskOf(task, job)),
        ...(out.ended ? { ended: out.ended } : {}),
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
        ...scriptKeys(k),
        now,
        task.jobKey,
        fence,
        error,
        dueAt,
        mode,
        ...stepArgs(last),
      );
      const out = decode.retryJob(reply);
      if (out.kind !== 'retrying') return out.kind === 'cancelling' ? 'cancelling' : undefined;
      return taskOf(task, { ...out, jobKey: task.jobKey });
    },

    /** Checkpoint: the job goes back to the queue under a new token; undefined when stale. */
    async requeueJob(task: JobTask, fence: string, now: number): Promise<JobTask | undefined> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.requeueJob(...scriptKeys(k), now, task.jobKey, fence);
      const out = decode.requeueJob(reply);
      if (out.kind === 'stale') return undefined;
      return taskOf(task, { ...out, jobKey: task.jobKey, attempt: task.attempt });
    },

    async renewLease(
      task: JobTask,
      fence: string,
      now: number,
      leaseMs: number,
    ): Promise<'ok' | 'stale' | 'cancelling'> {
      const k = keysOf(task.tenant, task.runId);
      const reply = await redis.renewLease(
        ...scriptKeys(k),
        now,
        task.jobKey,
        fence,
        now + leaseMs,
      );
      return decode.renewLease(reply).kind;
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
        ...scriptKeys(k),
        now,
        opts.finalStatus,
        opts.error ?? '',
        opts.reason ?? '',
        randomUUID(),
      );
      return decode.cancelRun(reply);
    },

    /** The run ended: drop it from the tenant's live runs, then from the reaper's worklist. */
    async forgetActive(tenant: string, runId: string): Promise<void> {
      await inOrder(
        () => redis.zrem(tenantKeys(prefix, tenant).live, runId),
        () => redis.zrem(globalKeys(prefix).activeRuns(shardOf(runId)), `${tenant}/${runId}`),
      );
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
      const k = keysOf(tenant, runId);
      // Flagged first: the run's end expires the children set only when flagged (lua/includes/end-run.lua).
      await redis.hset(k.run, 'hasChildren', '1');
      await redis.sadd(k.children, childRunId);
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
        ...scriptKeys(k),
        k.signals,
        now,
        task.jobKey,
        fence,
        wait.waitingFor,
        wait.wakeAt ?? '',
        wait.signal ?? '',
        wait.event ?? '',
      );
      const out = decode.suspendJob(reply);
      if (out.kind !== 'suspended') return out.kind === 'cancelling' ? 'cancelling' : undefined;
      return {
        task: taskOf(task, { ...out, jobKey: task.jobKey, attempt: task.attempt }),
        queued: out.queued,
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
        ...scriptKeys(k),
        k.signals,
        now,
        wait.kind,
        wait.key,
        JSON.stringify(resolution),
        event.type,
        JSON.stringify(event.data),
        LIMITS.keptSignals,
      );
      const out = decode.resolveWait(reply);
      return out.kind === 'woken' ? taskOf({ tenant, runId }, out.job) : out.kind;
    },

    /** Queue a waiting job again; else the status it has instead. */
    async wakeJob(
      tenant: string,
      runId: string,
      jobKey: string,
      now: number,
    ): Promise<JobTask | { status: string }> {
      const k = keysOf(tenant, runId);
      const out = decode.wakeJob(await redis.wakeJob(...scriptKeys(k), now, jobKey));
      if (out.kind === 'not-waiting') return { status: out.status };
      return taskOf({ tenant, runId }, { ...out, jobKey });
    },

    /** Lift a run's concurrency gate; the tasks of its queued jobs, to send. */
    async ungateRun(tenant: string, runId: string): Promise<JobTask[]> {
      const k = keysOf(tenant, runId);
      const out = decode.ungateRun(await redis.ungateRun(...scriptKeys(k), Date.now()));
      return out.queued.map((job) => taskOf({ tenant, runId }, job));
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
      // Event ids are <entry ms>-<entry seq × EVENT_SLOTS + place in the entry>: the
      // entry `after` is in is read again and its events up to `after` dropped. An
      // entry holds at least one event, so `limit` entries after it hold enough.
      const start = after ? entryOf(after) : '-';
      const [live, archived] = await Promise.all([
        redis.xrange(k.events, start, '+', 'COUNT', limit + 1),
        // A finished run's events: archived in one field when it ended (lua/includes/end-run.lua).
        redis.hgetBuffer(k.run, 'eventLog'),
      ]);
      let entries = live;
      if (archived) {
        // The stream's DUMP; a run that ended before it was archived so, rows of text.
        if (!isStreamDump(archived)) return archivedEvents(archived.toString(), after, limit);
        entries = streamDumpEntries(archived);
      }
      const out: RunEvent[] = [];
      for (const [id, flat] of entries) {
        for (const event of expandEntry(id, flat)) {
          if (after !== undefined && !idAfter(event.id, after)) continue;
          out.push(event);
          if (out.length === limit) return out;
        }
      }
      return out;
    },
  };
}

/** The stream entry holding the event `id` (see expandEntry). */
function entryOf(id: string): string {
  const [ms = '0', n = '0'] = id.split('-');
  return `${ms}-${Math.floor(Number(n) / EVENT_SLOTS)}`;
}

/**
 * The events of one stream entry (lua/includes/emit.lua): `at` first, then per event `type`
 * and its `job`, `step`, `data`; an entry written before events shared one holds one
 * event with `type` first. The n-th event's id is `<ms>-<seq × EVENT_SLOTS + n>`.
 */
export function expandEntry(id: string, flat: string[]): RunEvent[] {
  const [ms = '0', seq = '0'] = id.split('-');
  const events: RunEvent[] = [];
  let at: string | undefined;
  let current: Record<string, string> | undefined;
  for (let i = 0; i < flat.length; i += 2) {
    const field = flat[i] as string;
    const value = flat[i + 1] as string;
    if (field === 'type') {
      current = at === undefined ? { type: value } : { type: value, at };
      events.push({ id: `${ms}-${Number(seq) * EVENT_SLOTS + events.length}`, fields: current });
    } else if (field === 'at') {
      at = value;
      if (current && current.at === undefined) current.at = value;
    } else if (current) {
      current[field] = value;
    }
  }
  return events;
}

export type RunStore = ReturnType<typeof createRunStore>;

/** Stream ids `<ms>-<seq>` in order. */
function idAfter(id: string, after: string): boolean {
  const [ms = 0, seq = 0] = id.split('-').map(Number);
  const [ams = 0, aseq = 0] = after.split('-').map(Number);
  return ms > ams || (ms === ams && seq > aseq);
}

/**
 * The rows of an event log archived as text (lua/includes/end-run.lua before it kept the
 * stream's DUMP; such runs last until their retention ends): `[id, type, at offset, job, step, data]`.
 */
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
