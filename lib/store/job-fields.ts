/**
 * The jobs hash (keys.ts `jobs`, one per run): the owner of its field names. A field
 * is `<name>:<jobKey>` (the name first, so a job key may hold anything, a colon
 * too), a matrix group's `<name>:<group>`. TypeScript builds and reads fields only
 * through `jobField` / `jobKeyOf`; the Lua (lib/store/lua) writes the same names
 * as `'<name>:' .. job`, and test/unit/job-fields.test.ts fails when a .lua file
 * uses a name this list does not have (or this list one nobody uses).
 *
 * Who writes what: the plan at admission (decide/plan.ts `initialJobFields`) the
 * DAG and first state; the scripts every transition after. At the run's end
 * (lua/includes/end-run.lua) only KEPT_AFTER_END stay, and `fence` past 1.
 */
export const JOB_FIELDS = {
  // A job's state.
  status: 'pending | queued | running | waiting | succeeded | failed | skipped | cancelled',
  attempt: 'the attempt number (1 first; 0 never ran, or reused by a rerun)',
  token: 'the dispatch token a task must carry to claim the job (dispatch-token.ts)',
  fence: 'the fencing token: +1 per claim, a settle must carry the current one',
  lease: 'ms: a running job whose lease is past is the reaper’s',
  queuedAt: 'ms: when it was queued (or is due, a retry): the reaper resends a lost task',
  startedAt: 'ms: its first claim',
  finishedAt: 'ms: when it ended',
  outputs: 'its outputs JSON, once ended',
  error: 'its error JSON, when it failed or was cancelled with one',
  attemptError: '`attemptError:<job>#<n>`: attempt n’s error JSON, for the run document',
  // The DAG (written at admission).
  needs: 'JSON list of the job keys it needs',
  deps: 'JSON list of the job keys that need it',
  waiting: 'how many of its needs have not ended yet; 0 decides it (lua/includes/readiness.lua)',
  nfail: 'how many of its needs ended without success (continueOnError counts as success)',
  gate: '`custom` (queued; the executor evaluates its if); absent: the default if, skipped unless its needs succeeded',
  coe: '1 under continueOnError: its failure counts as success for its dependents (absent: not)',
  nsteps: 'how many steps it has (the claim reads their records)',
  first: 'the id of the step its claim starts itself (a plain first step)',
  prio: '`high` / `low` (absent: normal): which queue its tasks take',
  // A matrix instance; its group's fields are keyed by the group.
  mgroup: 'the matrix group of an instance',
  held: '1: ready but held back by the group’s maxParallel',
  minst: '(per group) JSON list of the group’s instance keys',
  mmax: '(per group) maxParallel',
  mff: '(per group) 1 under failFast',
  // A claim and what it carries.
  claim: 'the claim id of the current claim (a replayed claim answers the same)',
  commit: 'the commit id of the last commitStep (a replay writes nothing)',
  reply: 'the last settle’s reply under its fence (lua/includes/replay.lua)',
  cancel: 'set: stop at the next commit or heartbeat (failFast of its matrix)',
  timeoutFrom:
    'ms: where the attempt’s timeoutMs counts from (absent in attempt 1 until a wait moves it: startedAt)',
  // A wait.
  waitingFor: 'JSON: what the waiting job waits for (kind and key)',
  wakeAt: 'ms: when a waiting job may be claimed (a sleep’s end, a wait’s timeout)',
  waitingSince: 'ms: when it began to wait (stops its timeoutMs clock)',
  resolved: 'JSON: what its wait was resolved with',
} as const;

export type JobFieldName = keyof typeof JOB_FIELDS;

/**
 * The run's counters, kept in the jobs hash as `run:<name>` (read and written with
 * the jobs' fields; lua/includes/fields.lua `counter`); a run admitted before they
 * moved has them in the run hash under their old names.
 */
export const RUN_COUNTERS = {
  pending: 'jobs not ended yet: 0 ends the run',
  failed: 'jobs failed (not under continueOnError): the run fails',
  dispatch: 'dispatch tokens minted so far (the n of the next)',
  key: 'the run’s dispatch key (dispatch-token.ts)',
  tenant: 'the run’s tenant',
  retain: 'ms the run’s keys stay after its end',
  cancel: 'mirrors the run’s cancelRequested',
  started: 'the run has started (its run.started event is written)',
  waits: 'the run has had a waiting job (finishJob checks whether only waits are left)',
  table:
    'never kept: createRun writes and deletes it so the hash is a hashtable from its first write',
} as const;

export type RunCounter = keyof typeof RUN_COUNTERS;

/** The jobs-hash field of a run counter. */
export const runCounter = (name: RunCounter): string => `run:${name}`;

/** What the run document and a rerun read of a finished run (end-run.lua's KEEP_AFTER_END). */
export const KEPT_AFTER_END: readonly JobFieldName[] = [
  'status',
  'attempt',
  'outputs',
  'error',
  'startedAt',
  'finishedAt',
  'attemptError',
];

/** The field `name` of a job (or of a matrix group, for minst / mmax / mff). */
export const jobField = (name: JobFieldName, key: string): string => `${name}:${key}`;

/** The job key of `field` when it is a `name` field, else undefined. */
export function jobKeyOf(field: string, name: JobFieldName): string | undefined {
  return field.startsWith(`${name}:`) ? field.slice(name.length + 1) : undefined;
}
