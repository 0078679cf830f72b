/**
 * The one key builder. Every key starts with `<prefix>:<tenant>:` (tenants never
 * share a key, invariant 7). All keys of one run share the hash tag `{<runId>}` so
 * each run transition is a single-slot Lua script (invariant 2, Redis Cluster).
 * Tenant-wide indexes are separate slots and are never touched by run scripts.
 */
export interface RunKeys {
  /** Hash: run fields (status, spec, inputs, counters, …). */
  run: string;
  /** Hash: flat job fields `<field>:<jobKey>` (status, attempt, token, fence, …: job-fields.ts). */
  jobs: string;
  /** Hash: step records, field `<jobKey>#<stepIndex>` → JSON. */
  steps: string;
  /** Stream: the run's events, in order. */
  events: string;
  /** Set: concurrency memberships `<group>\n<member>`, each dropped on its release (engine/decide/slots.ts says when). */
  groups: string;
  /** Set: run ids of the child runs its `workflow:` steps started. */
  children: string;
  /** Hash: signals kept for steps not yet waiting, `<name>#<n>` → payload, `head:`/`tail:<name>`. */
  signals: string;
  /** Set (on a root run): every run its tree created, for the descendants quota. */
  tree: string;
}

/** The suffixes of `runKeys`: the run-ending script expires every one of them (retention). */
export const RUN_KEY_SUFFIXES = [
  'run',
  'jobs',
  'steps',
  'events',
  'groups',
  'children',
  'signals',
  'tree',
] as const;

export function runKeys(prefix: string, tenant: string, runId: string): RunKeys {
  const base = `${prefix}:${tenant}:{${runId}}`;
  return {
    run: `${base}:run`,
    jobs: `${base}:jobs`,
    steps: `${base}:steps`,
    events: `${base}:events`,
    groups: `${base}:groups`,
    children: `${base}:children`,
    signals: `${base}:signals`,
    tree: `${base}:tree`,
  };
}

export function tenantKeys(prefix: string, tenant: string) {
  // `{tenant}` keeps a tenant's registry keys in one slot for the register script.
  const base = `${prefix}:{${tenant}}`;
  return {
    /** Sorted set: runIds by creation time (newest-first listing). */
    runs: `${base}:runs`,
    /** Sorted set: runIds not yet finished, by creation time (runs-in-flight quota). */
    live: `${base}:live`,
    /**
     * String: the submit-rate token bucket, `<tokens> <ms of the last take>`, expiring
     * once full again. (`:bucket`, a hash of the same, expired on its own.)
     */
    submitBucket: `${base}:rate`,
    /** Set: registered workflow names. */
    workflows: `${base}:workflows`,
    /** Hash: `latest` → revision number, `rev:<n>` → revision JSON. */
    workflow: (name: string) => `${base}:wf:${name}`,
    /** String: idempotency record `runId|fingerprint` with a TTL. */
    idempotency: (scope: string, key: string) => `${base}:idem:${scope}:${key}`,
    /**
     * A concurrency group: `holders` (sorted set, member → time granted), `queue`
     * (sorted set, member → arrival number: FIFO) and `meta` (hash: limit, seq).
     * Members are `<runId>` (workflow level) or `<runId>/<jobKey>` (job level).
     */
    group: (name: string) => ({
      holders: `${base}:cg:${name}:holders`,
      queue: `${base}:cg:${name}:queue`,
      meta: `${base}:cg:${name}:meta`,
      /** String: the grants of a member's last release, for a replayed release. */
      released: (member: string) => `${base}:cg:${name}:rel:${member}`,
    }),
  };
}

/**
 * The global indexes are split into SHARDS keys each, every shard its own hash tag,
 * so a cluster spreads them over its masters and no single key caps the engine.
 * Fixed: changing it would strand members in shards nobody reads.
 */
export const SHARDS = 16;

/** The shard of `id` (a run id, or `<tenant>/<workflow>` for cron): FNV-1a mod SHARDS. */
export function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SHARDS;
}

export const allShards = (): number[] => Array.from({ length: SHARDS }, (_, i) => i);

export const globalKeys = (prefix: string) => ({
  /** Sorted set: job tasks (JSON) due at score (ms), woken by `schedule`; sharded by run id. */
  timers: (shard: number) => `${prefix}:{timers.${shard}}`,
  /**
   * Sorted set: `<tenant>/<runId>` of runs not yet finished, by creation time: the
   * reaper's worklist; sharded by run id.
   */
  activeRuns: (shard: number) => `${prefix}:{active.${shard}}`,
  /** Set: `<tenant>/<workflow>` with a cron trigger; sharded by that member. */
  cronWorkflows: (shard: number) => `${prefix}:{cron.${shard}}`,
  /** Hash: the reaper's place in its walk over the active shards (`shard`, `cursor`). */
  reaperCursor: `${prefix}:reaper`,
});

export const stepField = (jobKey: string, index: number) => `${jobKey}#${index}`;
