/**
 * Every Lua script's reply, decoded to a typed outcome: one discriminated union per
 * script, `kind` named for what happened. The codes are per script (a -2 is "the
 * run has finished" to claimJob, "the run is being cancelled" to commitStep, "over
 * quota" to admitTenant), so each script has its own table, and the tables are the
 * only place a code is read: lib/store/*-store.ts decode through them. Each table
 * matches the Output section of the script's header (lib/store/lua/<script>.lua;
 * test/unit/codes.test.ts checks they agree). A code no table knows throws: it is a
 * script and its caller out of step, not an outcome to guess at.
 */

/** A job a script queued: the task to send for it (attempt 1 unless the reply says). */
export interface QueuedJob {
  jobKey: string;
  attempt: number;
  token: string;
  /** '' normal, else `high` / `low`. */
  priority: string;
}

/** What a run's end sets off needs to know of it (run-finished.ts), as finishJob tells. */
export interface RunEnd {
  parentRunId: string;
  hasMemberships: boolean;
  cancelRequested: boolean;
}

/** The codes of each script, as its header's Output lists them (success payloads aside). */
export const SCRIPT_CODES = {
  admitTenant: { 1: 'admitted', [-1]: 'rate-limited', [-2]: 'over-quota' },
  admitRun: { 1: 'created', 0: 'existed', [-1]: 'rate-limited', [-2]: 'over-quota' },
  createRun: { 1: 'created', 0: 'existed' },
  countDescendant: { 1: 'counted', [-1]: 'tree-full' },
  claimJob: {
    1: 'claimed',
    [-1]: 'missing',
    [-2]: 'run-finished',
    [-3]: 'stale',
    [-4]: 'lease-held',
    [-5]: 'gated',
  },
  commitStep: { 1: 'ok', [-1]: 'stale', [-2]: 'cancelling' },
  renewLease: { 1: 'ok', [-1]: 'stale', [-2]: 'cancelling' },
  finishJob: { [-1]: 'stale' },
  retryJob: { [-1]: 'stale', [-2]: 'cancelling' },
  requeueJob: { [-1]: 'stale' },
  suspendJob: { [-1]: 'stale', [-2]: 'cancelling' },
  cancelRun: { [-1]: 'missing', [-2]: 'finished' },
  resolveWait: {
    1: 'woken',
    2: 'kept',
    [-1]: 'missing',
    [-2]: 'finished',
    [-3]: 'not-waiting',
    [-4]: 'full',
  },
  wakeJob: { [-1]: 'not-waiting' },
  acquireSlot: { 1: 'granted', 0: 'waiting' },
} as const satisfies Record<string, Record<number, string>>;

type Codes = typeof SCRIPT_CODES;
type KindOf<S extends keyof Codes> = Codes[S][keyof Codes[S]];

/** The outcome a code names for `script`; throws on a code its table does not have. */
function kindOf<S extends keyof Codes>(script: S, code: unknown): KindOf<S> {
  const kind = (SCRIPT_CODES[script] as Record<number, string>)[Number(code)];
  if (typeof code !== 'number' || kind === undefined) {
    throw new Error(`${script} replied ${JSON.stringify(code)}: no such code`);
  }
  return kind as KindOf<S>;
}

/** A bare negative code, or undefined when the reply is a list (a success payload). */
function codeOrList<S extends keyof Codes>(script: S, reply: unknown): KindOf<S> | undefined {
  return Array.isArray(reply) ? undefined : kindOf(script, reply);
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** A flat `job, token, priority, …` list: first attempts of newly queued jobs. */
function queuedTriples(flat: unknown[]): QueuedJob[] {
  const jobs: QueuedJob[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    jobs.push({
      jobKey: str(flat[i]),
      attempt: 1,
      token: str(flat[i + 1]),
      priority: str(flat[i + 2]),
    });
  }
  return jobs;
}

function runEndOf(raw: string): RunEnd {
  const [parentRunId = '', groups, cancelled] = raw.split('|');
  return { parentRunId, hasMemberships: groups === '1', cancelRequested: cancelled === '1' };
}

export type AdmitOutcome =
  | { kind: 'admitted' }
  | { kind: 'rate-limited'; retryAfterMs: number }
  | { kind: 'over-quota'; live: number };

/** What a run is created with and never changes (a claim sends it to a caller that lacks it). */
export interface RunConstants {
  spec: string;
  inputs: string;
  trigger: string;
  workflow: string;
  env: string;
}

/** The run-hash fields of RunConstants, in the order claim-job.lua sends them. */
export const RUN_CONSTANT_FIELDS = ['spec', 'inputs', 'trigger', 'workflow', 'env'] as const;

/** RunConstants from its fields' values in RUN_CONSTANT_FIELDS' order (absent: empty, `{}` for objects). */
export function runConstantsOf(values: readonly unknown[]): RunConstants {
  const [spec, inputs, trigger, workflow, env] = values.map((v) =>
    v == null ? undefined : String(v),
  );
  return {
    spec: spec ?? '',
    inputs: inputs ?? '{}',
    trigger: trigger ?? '',
    workflow: workflow ?? '',
    env: env ?? '{}',
  };
}

export type ClaimOutcome =
  | {
      kind: 'claimed';
      fence: string;
      /** Flat `jobKey, status, outputs, …` of each need. */
      needs: string[];
      /** Step record JSON by flattened step index, null where none was committed. */
      stepRecords: (string | null)[];
      /** What the job's wait was resolved with (JSON), when it was woken by one. */
      resolved: string;
      /** Where this attempt's timeoutMs counts from (ms; see decide/timeouts.ts). */
      timeoutFrom: number;
      /** The index of the step the claim started itself, or '' (claim-job.lua). */
      started: string;
      /** The run's constants, unless the caller said it has them. */
      constants?: RunConstants;
    }
  | { kind: 'missing' | 'run-finished' | 'stale' | 'lease-held' | 'gated' };

export type FinishOutcome =
  | { kind: 'finished'; runStatus: string; ended?: RunEnd; ready: QueuedJob[] }
  | { kind: 'stale' };

export type RetryOutcome =
  | { kind: 'retrying'; attempt: number; token: string; priority: string }
  | { kind: 'stale' | 'cancelling' };

export type SuspendOutcome =
  | { kind: 'suspended'; token: string; priority: string; queued: boolean }
  | { kind: 'stale' | 'cancelling' };

export type CancelOutcome =
  | { kind: 'cancelling'; runStatus: string; running: number }
  | { kind: 'missing' | 'finished' };

export type ResolveOutcome =
  | { kind: 'woken'; job: QueuedJob }
  | { kind: 'kept' | 'missing' | 'finished' | 'not-waiting' | 'full' };

export type WakeOutcome =
  | { kind: 'woken'; attempt: number; token: string; priority: string }
  | { kind: 'not-waiting'; status: string };

export type SlotOutcome =
  | { kind: 'granted' }
  | { kind: 'waiting'; position: number; holders: string[]; ahead: string[] };

/** One decoder per script: its raw reply → its outcome. */
export const decode = {
  admitTenant(reply: unknown): AdmitOutcome {
    const [code, detail] = reply as [number, number];
    const kind = kindOf('admitTenant', code);
    if (kind === 'rate-limited') return { kind, retryAfterMs: Number(detail) };
    if (kind === 'over-quota') return { kind, live: Number(detail) };
    return { kind };
  },

  /** A single node's whole admission (lua/admit-run.lua): the tenant's refusal, or createRun's outcome. */
  admitRun(
    reply: unknown,
  ): Exclude<AdmitOutcome, { kind: 'admitted' }> | { kind: 'created' | 'existed' } {
    const [code, detail] = reply as [number, number];
    const kind = kindOf('admitRun', code);
    if (kind === 'rate-limited') return { kind, retryAfterMs: Number(detail) };
    if (kind === 'over-quota') return { kind, live: Number(detail) };
    return { kind };
  },

  createRun(reply: unknown): { kind: 'created' | 'existed' } {
    return { kind: kindOf('createRun', reply) };
  },

  countDescendant(reply: unknown): { kind: 'counted' | 'tree-full' } {
    return { kind: kindOf('countDescendant', reply) };
  },

  claimJob(reply: unknown): ClaimOutcome {
    const r = reply as unknown[];
    const kind = kindOf('claimJob', r[0]);
    if (kind !== 'claimed') return { kind };
    const [, fence, needs, stepRecords, resolved, timeoutFrom, started] = r;
    return {
      kind,
      fence: str(fence),
      needs: needs as string[],
      stepRecords: stepRecords as (string | null)[],
      resolved: str(resolved),
      timeoutFrom: Number(timeoutFrom),
      started: str(started),
      ...(r.length > 7 ? { constants: runConstantsOf(r.slice(7)) } : {}),
    };
  },

  commitStep(reply: unknown): { kind: 'ok' | 'stale' | 'cancelling' } {
    return { kind: kindOf('commitStep', reply) };
  },

  renewLease(reply: unknown): { kind: 'ok' | 'stale' | 'cancelling' } {
    return { kind: kindOf('renewLease', reply) };
  },

  finishJob(reply: unknown): FinishOutcome {
    const code = codeOrList('finishJob', reply);
    if (code) return { kind: code };
    const [runStatus, ended, ...flat] = reply as unknown[];
    return {
      kind: 'finished',
      runStatus: str(runStatus),
      ready: queuedTriples(flat),
      ...(ended ? { ended: runEndOf(str(ended)) } : {}),
    };
  },

  retryJob(reply: unknown): RetryOutcome {
    const code = codeOrList('retryJob', reply);
    if (code) return { kind: code };
    const [attempt, token, priority] = reply as unknown[];
    return {
      kind: 'retrying',
      attempt: Number(attempt),
      token: str(token),
      priority: str(priority),
    };
  },

  requeueJob(
    reply: unknown,
  ): { kind: 'requeued'; token: string; priority: string } | { kind: 'stale' } {
    const code = codeOrList('requeueJob', reply);
    if (code) return { kind: code };
    const [token, priority] = reply as unknown[];
    return { kind: 'requeued', token: str(token), priority: str(priority) };
  },

  suspendJob(reply: unknown): SuspendOutcome {
    const code = codeOrList('suspendJob', reply);
    if (code) return { kind: code };
    const [token, priority, queued] = reply as unknown[];
    return { kind: 'suspended', token: str(token), priority: str(priority), queued: queued === 1 };
  },

  cancelRun(reply: unknown): CancelOutcome {
    const code = codeOrList('cancelRun', reply);
    if (code) return { kind: code };
    const [runStatus, running] = reply as unknown[];
    return { kind: 'cancelling', runStatus: str(runStatus), running: Number(running) };
  },

  resolveWait(reply: unknown): ResolveOutcome {
    const r = Array.isArray(reply) ? reply : [reply];
    const kind = kindOf('resolveWait', r[0]);
    if (kind !== 'woken') return { kind };
    const [, jobKey, attempt, token, priority] = r;
    return {
      kind,
      job: {
        jobKey: str(jobKey),
        attempt: Number(attempt),
        token: str(token),
        priority: str(priority),
      },
    };
  },

  wakeJob(reply: unknown): WakeOutcome {
    const [first, second, third] = reply as unknown[];
    if (first !== undefined && Number(first) < 0) {
      return { kind: kindOf('wakeJob', first), status: str(second) };
    }
    return { kind: 'woken', attempt: Number(first), token: str(second), priority: str(third) };
  },

  ungateRun(reply: unknown): { kind: 'ungated'; queued: QueuedJob[] } {
    const flat = reply as unknown[];
    const queued: QueuedJob[] = [];
    for (let i = 0; i < flat.length; i += 4) {
      queued.push({
        jobKey: str(flat[i]),
        attempt: Number(flat[i + 1]),
        token: str(flat[i + 2]),
        priority: str(flat[i + 3]),
      });
    }
    return { kind: 'ungated', queued };
  },

  acquireSlot(reply: unknown): SlotOutcome {
    const [code, position, count, ...members] = reply as unknown[];
    const kind = kindOf('acquireSlot', code);
    if (kind === 'granted') return { kind };
    const holders = members.slice(0, Number(count)).map(str);
    return {
      kind,
      position: Number(position),
      holders,
      ahead: members.slice(holders.length).map(str),
    };
  },

  releaseSlot(reply: unknown): { kind: 'released'; granted: string[] } {
    return { kind: 'released', granted: (reply as unknown[]).map(str) };
  },

  registerWorkflow(reply: unknown): { kind: 'added' | 'unchanged'; revision: number } {
    const [revision, created] = reply as [number, number];
    return { kind: created === 1 ? 'added' : 'unchanged', revision: Number(revision) };
  },
};
