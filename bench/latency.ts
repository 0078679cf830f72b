import './support/env.js';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type App, closeApp, createApp } from '../lib/app.js';
import { admitRun, newRunId } from '../lib/engine/run/admit.js';
import type { JobTask } from '../lib/queue/message.js';
import type { JobQueue } from '../lib/queue/sqs-queue.js';
import { withStepExecutors } from '../lib/step-executors.js';
import type { RunStore } from '../lib/store/run-store.js';
import {
  type ContainerResult,
  runContainerPhase,
  startContainer,
} from './support/container-phase.js';
import { IN_FLIGHT, startExecutors, type Transition, trackRuns } from './support/executor.js';
import { type PhaseReport, startPhaseProbe } from './support/phase-probe.js';
import { latencyPercentiles, startWindow } from './support/redis-meter.js';
import { chain, diamond, type Shape } from './support/shapes.js';
import { benchConfig, type Cleanup, runMain, startLocalSqs, startRedis } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

/**
 * Latencies of the quality bar (DESIGN.md) on the local stack: a private
 * redis-server, fauxqs in this process, executors long-polling it.
 *
 *   node --import tsx bench/latency.ts [--submits 1000] [--diamonds 50] [--chains 10] [--direct 500] [--aof]
 *     [--in-flight 40] (a multiple of 10; 10 = one execute container, one SQS batch)
 *     [--no-profile] [--sqs-in-process]
 *     [--container-runs 1000] [--container-warmup 20] [--no-container] [--memory 1024] [--container-log-level info]
 *     [--allocations] [--container-node-args '--min-semi-space-size=16'] [--batch-size 10]
 *     [--container-bundle]
 *
 * 1. submit: admitRun, one at a time, with the executors not yet started, so each
 *    figure is Redis + SQS send alone (what the API handler waits for).
 * 2. loaded: executors drain that backlog, --in-flight jobs at a time; every
 *    claimJob / commitStep / finishJob call is timed.
 * 3. serial: one run at a time (diamonds, then chains of 20) with one poller;
 *    transitions timed again, and job-done → dependent-started read from each
 *    run's event stream.
 * 4. direct: claimJob, commitStep ×2, finishJob called back to back by the bench
 *    itself: the transitions' floor on this machine, without the executor around them.
 * 5. container: --container-runs diamonds drained by one process shaped like an
 *    execute Lambda container (support/container-phase.ts): the real handler, one
 *    batch of ≤ 10 at a time, Lambda's heap flags for --memory, the deployed
 *    NODE_OPTIONS, LOG_LEVEL and metrics; SQS receive and delete in this process.
 *    What a deployed transition sees, short of Lambda's CPU share (below 1,769 MB a
 *    function gets less than one vCPU).
 *
 * Why one poller in phase 3: fauxqs wakes every waiting long-poll when a message
 * arrives, the losers re-poll at once, and here they all share this process's event
 * loop, so with four idle pollers each claim waited behind three SDK round trips.
 * On AWS each batch is its own Lambda invocation; one poller is the closer model.
 */

/** 1-minute load average when the bench began: others' work skews the figures. */
const LOAD_AT_START = loadavg()[0] ?? 0;
const TENANT = 'bench';
const WARMUP_SUBMITS = 20;

interface Options {
  submits: number;
  diamonds: number;
  chains: number;
  direct: number;
  appendonly: boolean;
  /** CPU profile of the phases, summed by owner (inspector; ~1 ms sampling). */
  profile: boolean;
  /** fauxqs on this event loop (the earlier figures) instead of in a child process. */
  sqsInProcess: boolean;
  /**
   * Jobs in flight in this process in the loaded phase, in pollers of batches of ten:
   * 40 by default (the redis-cost shape); 10 is what one execute container runs (one
   * SQS batch at a time).
   */
  inFlight: number;
  /** Diamond runs of the container phase; 0: no container phase. */
  containerRuns: number;
  /** The execute function's memory (MB): the container's heap flags. */
  memoryMb: number;
  /** LOG_LEVEL of the container (serverless.yml deploys `info`). */
  containerLogLevel: string;
  /** The container runs the built function (esbuild, as deployed) instead of the sources. */
  containerBundle: boolean;
  /**
   * Diamond runs the container drains before it is measured: the first invocation
   * connects and loads the scripts; more of them let V8 finish optimising (its
   * compiler and GC threads count in the process's CPU), for a steady-state figure.
   */
  containerWarmup: number;
  /** Records per container invocation at most (serverless.yml: 10). */
  batchSize: number;
  /** More node flags for the container (e.g. `--min-semi-space-size=16`). */
  containerNodeArgs: string[];
  /** The container phase's allocations by owner and frame (sampling heap profiler). */
  allocations: boolean;
}

type Samples = Map<Transition, number[]>;
type Tracker = ReturnType<typeof trackRuns>;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      submits: { type: 'string', default: '1000' },
      diamonds: { type: 'string', default: '50' },
      chains: { type: 'string', default: '10' },
      direct: { type: 'string', default: '500' },
      aof: { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      'sqs-in-process': { type: 'boolean', default: false },
      'in-flight': { type: 'string', default: String(IN_FLIGHT) },
      'container-runs': { type: 'string', default: '1000' },
      'container-warmup': { type: 'string', default: '20' },
      'no-container': { type: 'boolean', default: false },
      allocations: { type: 'boolean', default: false },
      'container-node-args': { type: 'string', default: '' },
      'batch-size': { type: 'string', default: '10' },
      'container-bundle': { type: 'boolean', default: false },
      memory: { type: 'string', default: '1024' },
      'container-log-level': { type: 'string', default: 'info' },
    },
  });
  const count = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} takes a positive integer`);
    return n;
  };
  return {
    submits: count(values.submits, 'submits'),
    diamonds: count(values.diamonds, 'diamonds'),
    chains: count(values.chains, 'chains'),
    direct: count(values.direct, 'direct'),
    appendonly: values.aof,
    profile: !values['no-profile'],
    sqsInProcess: values['sqs-in-process'],
    inFlight: batchesOfTen(count(values['in-flight'], 'in-flight')),
    containerRuns: values['no-container'] ? 0 : count(values['container-runs'], 'container-runs'),
    containerWarmup: count(values['container-warmup'], 'container-warmup'),
    memoryMb: count(values.memory, 'memory'),
    containerLogLevel: values['container-log-level'],
    allocations: values.allocations,
    containerNodeArgs: values['container-node-args'].split(' ').filter(Boolean),
    batchSize: atMostTen(count(values['batch-size'], 'batch-size')),
    containerBundle: values['container-bundle'],
  };
}

function atMostTen(n: number): number {
  if (n > 10) throw new Error('--batch-size takes 1 to 10 (an SQS batch holds ten at most)');
  return n;
}

function batchesOfTen(n: number): number {
  if (n % 10 !== 0)
    throw new Error('--in-flight takes a multiple of 10 (pollers take batches of ten)');
  return n;
}

/** Times `fn` into `into` (ms) and returns its result. */
async function timed<T>(into: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  into.push(performance.now() - t0);
  return out;
}

interface SubmitTimes {
  total: number[];
  redis: number[];
  sqs: number[];
  runIds: string[];
}

/**
 * Phase 1. admitRun one at a time with nobody consuming, timing the whole call and
 * its two halves (createRun in Redis, SendMessageBatch to SQS).
 */
async function measureSubmits(app: App, shape: Shape, n: number): Promise<SubmitTimes> {
  const times: SubmitTimes = { total: [], redis: [], sqs: [], runIds: [] };
  const runs: RunStore = {
    ...app.runs,
    createRun: (run, tenant) => timed(times.redis, () => app.runs.createRun(run, tenant)),
  };
  const queue: JobQueue = {
    send: (tasks, delay) => timed(times.sqs, () => app.queue.send(tasks, delay)),
  };
  for (let i = 0; i < n; i++) {
    const runId = newRunId();
    times.runIds.push(runId);
    await timed(times.total, () =>
      admitRun(
        { runs, queue, concurrency: app.concurrency },
        { tenant: TENANT, spec: shape.spec, revision: 0, trigger: { type: 'api' }, runId },
      ),
    );
  }
  return times;
}

/**
 * Admits `n` runs of `shape` (untimed) and returns their ids; past the tenant's
 * submit burst, at its rate (each refusal waits out its Retry-After).
 */
async function admitBacklog(app: App, shape: Shape, n: number): Promise<string[]> {
  const ids: string[] = [];
  const req = { tenant: TENANT, spec: shape.spec, revision: 0, trigger: { type: 'api' as const } };
  while (ids.length < n) {
    const runId = newRunId();
    try {
      await admitRun(app, { ...req, runId });
      ids.push(runId);
    } catch (err) {
      const wait = (err as { retryAfterMs?: unknown }).retryAfterMs;
      if (typeof wait !== 'number') throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return ids;
}

/** Fails the bench unless every run succeeded (the container's jobs ran elsewhere). */
async function expectSucceeded(app: App, runIds: string[]): Promise<void> {
  const rows = await app.runs.runFields(TENANT, runIds, ['status']);
  const bad = rows.map((r, i) => [runIds[i], r[0]]).filter(([, status]) => status !== 'succeeded');
  if (bad.length > 0)
    throw new Error(`container phase: runs not succeeded: ${JSON.stringify(bad.slice(0, 5))}`);
}

/** Per job with needs: its first job.started minus the last job.succeeded among its needs. */
async function dependencyLatencies(app: App, shape: Shape, runIds: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const runId of runIds) {
    const succeeded = new Map<string, number>();
    const started = new Map<string, number>();
    for (const { fields } of await app.runs.readEvents(TENANT, runId, undefined, 10_000)) {
      const { type, job, at } = fields;
      if (job === undefined || at === undefined) continue;
      if (type === 'job.succeeded') succeeded.set(job, Number(at));
      if (type === 'job.started' && !started.has(job)) started.set(job, Number(at));
    }
    for (const job of shape.jobs) {
      if (job.needs.length === 0) continue;
      const ready = Math.max(...job.needs.map((n) => succeeded.get(n) ?? Number.NaN));
      const start = started.get(job.name);
      if (start === undefined || Number.isNaN(ready)) {
        throw new Error(`run ${runId}: events lack job ${job.name} or one of its needs`);
      }
      out.push(start - ready);
    }
  }
  return out;
}

const newSamples = (): Samples =>
  new Map<Transition, number[]>([
    ['claimJob', []],
    ['commitStep', []],
    ['finishJob', []],
  ]);

/**
 * Phase 4: the floor. The executor's calls for job `a` of `n` fresh runs, made back
 * to back from here with no poller, SQS call or other job in between, so the figure
 * is Redis + loopback + ioredis only.
 */
async function directTransitions(app: App, shape: Shape, n: number): Promise<Samples> {
  const samples = newSamples();
  const runs = trackRuns(app.runs, (t, ms) => samples.get(t)?.push(ms)).store;
  const first = shape.jobs[0]?.name ?? '';
  const req = { tenant: TENANT, spec: shape.spec, revision: 0, trigger: { type: 'api' as const } };
  const record = (status: string) => JSON.stringify({ id: 's0', status });
  for (let i = 0; i < n; i++) {
    const runId = newRunId();
    // The task admitRun queues (its dispatch token is unguessable), taken before SQS.
    let queued: JobTask[] = [];
    const queue: JobQueue = {
      send: async (tasks) => {
        queued = tasks;
      },
    };
    await admitRun({ ...app, queue }, { ...req, runId });
    const task = queued.find((t) => t.jobKey === first);
    if (!task) throw new Error(`direct: admitRun of ${runId} queued no task for ${first}`);
    const claim = await runs.claimJob(task, Date.now(), app.config.leaseMs);
    if (claim.kind !== 'claimed') throw new Error(`direct claim of ${runId} got ${claim.kind}`);
    const step = { index: 0, stepKey: 's0' };
    await runs.commitStep(task, claim.fence, Date.now(), app.config.leaseMs, undefined, {
      ...step,
      record: record('running'),
    });
    const done = {
      ...step,
      record: record('succeeded'),
      eventType: 'step.succeeded',
      eventData: '{}',
    };
    await runs.commitStep(task, claim.fence, Date.now(), app.config.leaseMs, done);
    await runs.finishJob(task, claim.fence, 'succeeded', '{}', '', Date.now());
  }
  return samples;
}

/**
 * Runs `work` with `pollers` executors consuming the app's queue; an executor fault
 * fails the awaited runs at once and is rethrown here.
 */
async function withExecutors<T>(
  app: App,
  tracker: Tracker,
  pollers: number,
  work: () => Promise<T>,
): Promise<T> {
  let fault: Error | undefined;
  const executors = startExecutors(
    app,
    { ...app, runs: tracker.store },
    {
      pollers,
      onError: (err) => {
        fault ??= err;
        tracker.failAll(err);
      },
    },
  );
  let out: T;
  try {
    out = await work();
  } finally {
    await executors.stop();
  }
  // A fault in a task no run waited on (a duplicate, say) still fails the bench.
  if (fault) throw fault;
  return out;
}

/** Admits runs of `shape` one at a time, each after the previous one succeeded. */
async function serialRuns(app: App, tracker: Tracker, shape: Shape, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const runId = newRunId();
    const done = tracker.expect(runId);
    const req = {
      tenant: TENANT,
      spec: shape.spec,
      revision: 0,
      trigger: { type: 'api' as const },
    };
    await admitRun(app, { ...req, runId });
    await done;
    ids.push(runId);
  }
  return ids;
}

const ms = (xs: number[], q: number) => fixed(percentile(xs, q), 2);
const max = (xs: number[], digits = 2) => fixed(Math.max(...xs), digits);

function transitionRows(phase: string, samples: Samples): (string | number)[][] {
  const all = [...samples.values()].flat();
  return [
    ...[...samples].map(([t, xs]) => [t, phase, xs.length, ms(xs, 50), ms(xs, 99), max(xs)]),
    ['all three', phase, all.length, ms(all, 50), ms(all, 99), max(all)],
  ];
}

interface Results {
  submits: SubmitTimes;
  loaded: Samples;
  loadedMs: number;
  serial: Samples;
  direct: Samples;
  /** Where each phase's time went in this process. */
  probes: { loaded: PhaseReport; serial: PhaseReport; direct: PhaseReport };
  /** SQS calls the process made in the loaded phase: command → count and client ms. */
  sqsLoaded: Map<string, number[]>;
  /** INFO latencystats EVALSHA, µs: loaded, serial and container phases. */
  evalsha: Partial<Record<'loaded' | 'serial' | 'container', { p50: number; p99: number }>>;
  /** The container phase (none with --no-container). */
  container?: ContainerResult;
  dependency: [Shape, number[]][];
}

const us = (x?: { p50: number; p99: number }) =>
  x ? `${fixed(x.p50, 0)} / ${fixed(x.p99, 0)}` : 'n/a';

/**
 * The breakdown of a transition's client-side time, per phase: Redis's own time for
 * the script (latencystats), and what else this process's event loop was doing
 * (CPU, loop delay, GC, CPU taken by other processes), with the CPU by owner.
 */
function whereTimeGoes(opts: Options, r: Results): string {
  const phases: [string, PhaseReport][] = [
    ['loaded', r.probes.loaded],
    ['serial', r.probes.serial],
    ['direct', r.probes.direct],
    ...(r.container ? [['container', r.container.report.probe] as [string, PhaseReport]] : []),
  ];
  const jobs = (phase: string) => samplesOf(r, phase).get('claimJob')?.length ?? 0;
  const rows = phases.map(([name, p]) => [
    name,
    fixed(p.wallMs, 0),
    fixed(p.cpuMs, 0),
    `${fixed(p.cpuMs / Math.max(1, jobs(name)), 2)} (${fixed(p.systemMs / Math.max(1, jobs(name)), 2)})`,
    `${fixed(p.loop.p50, 1)} / ${fixed(p.loop.p99, 1)} / ${fixed(p.loop.max, 1)}`,
    `${p.gc.count} / ${fixed(p.gc.totalMs, 0)} / ${fixed(p.gc.maxMs, 1)}`,
    p.involuntarySwitches,
    `${fixed(p.load.start, 1)} → ${fixed(p.load.end, 1)}`,
    name === 'direct' ? 'n/a' : us(r.evalsha[name as 'loaded' | 'serial' | 'container']),
  ]);
  const out = [
    "Where a transition's time goes (this process; the transitions above are timed inside it):",
    table(
      [
        'phase',
        'wall ms',
        'CPU ms',
        'CPU ms/job (of it sys)',
        'loop delay p50 / p99 / max ms',
        'GC n / ms / max',
        'ctx switches (involuntary)',
        'load 1-min',
        'EVALSHA in Redis p50 / p99 µs',
      ],
      rows,
    ),
  ];
  const sqs = [...r.sqsLoaded].map(([cmd, xs]) => `${cmd} ${xs.length} (p50 ${ms(xs, 50)} ms)`);
  out.push(`SQS calls in the loaded phase: ${sqs.join(', ')}.`);
  const gcKinds = (p: PhaseReport) =>
    Object.entries(p.gc.byKind)
      .map(([k, g]) => `${k} ${g.count} / ${fixed(g.totalMs, 0)} / ${fixed(g.maxMs, 1)}`)
      .join(', ');
  out.push(
    `GC pauses by kind (n / ms / max): ${phases.map(([n, p]) => `${n}: ${gcKinds(p)}`).join('; ')}.`,
  );
  if (opts.profile) {
    const owners = new Set(phases.flatMap(([, p]) => [...p.byOwner.keys()]));
    const busy = (p: PhaseReport) =>
      [...p.byOwner].filter(([o]) => o !== 'idle').reduce((a, [, v]) => a + v, 0);
    const ownerRows = [...owners]
      .filter((o) => o !== 'idle')
      .map((o) => [
        o,
        ...phases.map(([, p]) => {
          const v = p.byOwner.get(o) ?? 0;
          return `${fixed(v, 0)} (${fixed((100 * v) / Math.max(1, busy(p)), 0)} %)`;
        }),
      ])
      .sort((a, b) => Number.parseFloat(String(b[1])) - Number.parseFloat(String(a[1])));
    out.push(
      '',
      'CPU profile by owner: sampled ms (share of the busy samples). Samples are 1 ms of wall ' +
        'time apart, so on a busy machine ms overstate CPU; read the shares. The loaded phase ' +
        "also runs the pollers' ReceiveMessage/DeleteMessageBatch (on AWS the event source " +
        `mapping does those)${opts.sqsInProcess ? ' and the SQS server (fauxqs)' : ''} in this process:`,
      table(['owner', ...phases.map(([n]) => n)], ownerRows),
    );
    const busiest = r.container?.report.probe ?? r.probes.loaded;
    out.push(
      '',
      `Busiest frames by self time, ${r.container ? 'container' : 'loaded'} phase (sampled ms):`,
      table(
        ['frame', 'ms'],
        busiest.top.map(([f, v]) => [f, fixed(v, 0)]),
      ),
    );
  }
  return out.join('\n');
}

function samplesOf(r: Results, phase: string): Samples {
  if (phase === 'container' && r.container)
    return new Map(Object.entries(r.container.report.samples) as [Transition, number[]][]);
  return phase === 'loaded' ? r.loaded : phase === 'serial' ? r.serial : r.direct;
}

function containerLines(opts: Options, c: ContainerResult): string[] {
  const jobs = c.batchSizes.reduce((a, b) => a + b, 0);
  return [
    `container = ${opts.containerRuns} diamond runs (${jobs} jobs, ${fixed(c.wallMs, 0)} ms) through one ` +
      `execute container process: ${c.report.invocations} invocations of the real handler ` +
      `(${opts.containerBundle ? 'the built function, bundled as deployed' : 'its sources, under tsx'}), ` +
      `${fixed(jobs / Math.max(1, c.batchSizes.length), 1)} records per batch; invocation p50 / p99 ` +
      `${ms(c.invokeMs, 50)} / ${ms(c.invokeMs, 99)} ms as the event source mapping sees it. ` +
      `Node flags: ${c.heapFlags.join(' ')} (Lambda's bootstrap for ${opts.memoryMb} MB), ` +
      `NODE_OPTIONS '${c.nodeOptions}', LOG_LEVEL ${opts.containerLogLevel}: ` +
      `${fixed(c.stdoutBytesPerJob, 0)} bytes of stdout per job. SQS calls and Redis writes per batch: ` +
      `${Object.entries(c.report.sqsCalls)
        .map(([k, n]) => `${k} ${fixed(n / Math.max(1, c.report.invocations), 2)}`)
        .join(', ')}. First claim reply → last finish sent, per invocation (the batch's own ` +
      `JavaScript a finish sent early waits behind): p50 ${ms(c.report.claimToFinishMs, 50)}, ` +
      `p99 ${ms(c.report.claimToFinishMs, 99)} ms. Timed at the script call ` +
      '(EVALSHA + loopback + event loop, without the run store’s encode/decode).',
  ];
}

/** The container's allocations per job, by owner and by frame (--allocations). */
function allocationLines(c: ContainerResult): string[] {
  const { byOwner, top } = c.report.probe.allocated;
  if (byOwner.length === 0) return [];
  const jobs = c.batchSizes.reduce((a, b) => a + b, 0);
  const total = byOwner.reduce((a, [, v]) => a + v, 0);
  const kb = (bytes: number) => fixed(bytes / 1024 / Math.max(1, jobs), 1);
  return [
    '',
    `Allocated in the container, KB per job (sampling heap profiler; total ${kb(total)} KB/job):`,
    table(
      ['owner', 'KB/job'],
      byOwner.map(([o, v]) => [o, kb(v)]),
    ),
    table(
      ['frame', 'KB/job'],
      top.map(([f, v]) => [f, kb(v)]),
    ),
  ];
}

function report(opts: Options, r: Results): string {
  const s = r.submits;
  const deps = r.dependency.flatMap(([, xs]) => xs);
  return [
    `Latency — ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load before start ${LOAD_AT_START.toFixed(2)}, ` +
      `appendonly ${opts.appendonly ? 'yes' : 'no'}; Redis and SQS (fauxqs, ${opts.sqsInProcess ? 'in this process' : 'its own process'}) on loopback`,
    '',
    `Submit: admitRun × ${opts.submits} (diamond), one at a time, executors idle`,
    table(
      ['part', 'p50 ms', 'p99 ms', 'max ms'],
      [
        ['admitRun (Redis + SQS)', ms(s.total, 50), ms(s.total, 99), max(s.total)],
        ['  createRun + ZADD (Redis)', ms(s.redis, 50), ms(s.redis, 99), max(s.redis)],
        ['  SendMessageBatch (SQS)', ms(s.sqs, 50), ms(s.sqs, 99), max(s.sqs)],
      ],
    ),
    '',
    'State transitions as the executor sees them (script + loopback + event loop):',
    `loaded = ${opts.submits} diamond runs drained ${opts.inFlight} jobs at a time ` +
      `(${fixed(r.loadedMs, 0)} ms); serial = ${opts.diamonds} diamonds, then ` +
      `${opts.chains} chains of 20, one run at a time, one poller.`,
    table(
      ['transition', 'phase', 'n', 'p50 ms', 'p99 ms', 'max ms'],
      [
        ...transitionRows('loaded', r.loaded),
        ...transitionRows('serial', r.serial),
        ...transitionRows('direct', r.direct),
        ...(r.container ? transitionRows('container', samplesOf(r, 'container')) : []),
      ],
    ),
    `direct = job a of ${opts.direct} runs claimed, committed and finished back to back ` +
      'from the bench, no poller or SQS call in between.',
    ...(r.container ? containerLines(opts, r.container) : []),
    '',
    whereTimeGoes(opts, r),
    ...(r.container ? allocationLines(r.container) : []),
    '',
    'Job done → dependent job started (event stream `at`, ms resolution; serial phase):',
    table(
      ['shape', 'edges', 'p50 ms', 'p99 ms', 'max ms'],
      [
        ...r.dependency.map(([shape, xs]) => [
          shape.name,
          xs.length,
          ms(xs, 50),
          ms(xs, 99),
          max(xs, 0),
        ]),
        ['all', deps.length, ms(deps, 50), ms(deps, 99), max(deps, 0)],
      ],
    ),
    '',
    'Bars (DESIGN.md): submit p99 < 10 ms; transition p99 < 2 ms; done → started p50 < 50 ms.',
  ].join('\n');
}

/** Times every SQS call of the app's client (command name → client ms) until stop(). */
function meterSqs(app: App): { calls: Map<string, number[]>; stop(): void } {
  const calls = new Map<string, number[]>();
  const sqs = app.sqs as unknown as { send: (cmd: object, ...rest: unknown[]) => Promise<unknown> };
  const original = sqs.send;
  sqs.send = async function timedSend(this: unknown, cmd: object, ...rest: unknown[]) {
    const name = cmd.constructor.name.replace(/Command$/, '');
    const xs = calls.get(name) ?? [];
    calls.set(name, xs);
    return timed(xs, () => original.call(this, cmd, ...rest) as Promise<unknown>);
  };
  return {
    calls,
    stop: () => {
      sqs.send = original;
    },
  };
}

async function main(cleanup: Cleanup): Promise<void> {
  const opts = parseOptions();
  const sqs = await startLocalSqs(cleanup, { ownProcess: !opts.sqsInProcess });
  const redis = await startRedis(cleanup, { appendonly: opts.appendonly });
  const app = withStepExecutors(
    createApp(benchConfig(redis.url, sqs, await sqs.createQueue('bench-latency'))),
  );
  cleanup.add('flowline app', () => closeApp(app));
  const [shapeD, shapeC] = [diamond(), chain()];
  // Started first: its cold start is over before anything is timed.
  const box =
    opts.containerRuns > 0
      ? await startContainer(cleanup, app.config, {
          memoryMb: opts.memoryMb,
          logLevel: opts.containerLogLevel,
          nodeArgs: opts.containerNodeArgs,
          bundle: opts.containerBundle,
        })
      : undefined;

  // Phase 1. The warm-up submits load the script and open the connections.
  const warmup = await measureSubmits(app, shapeD, WARMUP_SUBMITS);
  const submits = await measureSubmits(app, shapeD, opts.submits);

  // Phase 2. Nobody consumes yet, so every wait is registered before its run can finish.
  let samples = newSamples();
  const tracker = trackRuns(app.runs, (t, ms) => samples.get(t)?.push(ms));
  const backlog = [...warmup.runIds, ...submits.runIds].map((id) => tracker.expect(id));
  const sqsLoaded = meterSqs(app);
  let window = await startWindow(redis.port);
  let probe = await startPhaseProbe({ profile: opts.profile });
  const t0 = performance.now();
  await withExecutors(app, tracker, opts.inFlight / 10, () => Promise.all(backlog));
  const loadedMs = performance.now() - t0;
  const loadedProbe = await probe.stop();
  sqsLoaded.stop();
  await window.end();
  const evalshaLoaded = (await latencyPercentiles(redis.port)).get('evalsha');
  const loaded = samples;

  // Phase 3.
  samples = newSamples();
  window = await startWindow(redis.port);
  probe = await startPhaseProbe({ profile: opts.profile });
  const [diamondIds, chainIds] = await withExecutors(app, tracker, 1, async () => [
    await serialRuns(app, tracker, shapeD, opts.diamonds),
    await serialRuns(app, tracker, shapeC, opts.chains),
  ]);
  const serialProbe = await probe.stop();
  await window.end();
  const evalshaSerial = (await latencyPercentiles(redis.port)).get('evalsha');
  const serial = samples;

  // Phase 4 (the executors are stopped: the tasks admitRun queues stay unconsumed).
  probe = await startPhaseProbe({ profile: opts.profile });
  const direct = await directTransitions(app, shapeD, opts.direct);
  const directProbe = await probe.stop();

  // Phase 5. Its own backlog, admitted with nobody consuming; a warm-up batch first
  // (the container's first invocation connects and loads the scripts).
  let container: ContainerResult | undefined;
  let evalshaContainer: { p50: number; p99: number } | undefined;
  if (box) {
    const drain = async (n: number, probe: { profile: boolean; allocations: boolean }) => {
      const ids = await admitBacklog(app, shapeD, n);
      const out = await runContainerPhase(
        app.sqs,
        app.config.queueUrl,
        box,
        n * shapeD.jobs.length,
        probe,
        opts.batchSize,
      );
      await expectSucceeded(app, ids);
      return out;
    };
    await drain(opts.containerWarmup, { profile: false, allocations: false });
    window = await startWindow(redis.port);
    container = await drain(opts.containerRuns, {
      profile: opts.profile,
      allocations: opts.allocations,
    });
    await window.end();
    evalshaContainer = (await latencyPercentiles(redis.port)).get('evalsha');
  }

  const dependency: [Shape, number[]][] = [
    [shapeD, await dependencyLatencies(app, shapeD, diamondIds)],
    [shapeC, await dependencyLatencies(app, shapeC, chainIds)],
  ];
  console.log(
    report(opts, {
      submits,
      loaded,
      loadedMs,
      serial,
      direct,
      probes: { loaded: loadedProbe, serial: serialProbe, direct: directProbe },
      sqsLoaded: sqsLoaded.calls,
      evalsha: {
        ...(evalshaLoaded ? { loaded: evalshaLoaded } : {}),
        ...(evalshaSerial ? { serial: evalshaSerial } : {}),
        ...(evalshaContainer ? { container: evalshaContainer } : {}),
      },
      ...(container ? { container } : {}),
      dependency,
    }),
  );
}

await runMain(main);
