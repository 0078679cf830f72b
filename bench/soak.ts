import { jobKeyOf } from '../lib/store/job-fields.js';
import './support/soak-env.js';
import './support/env.js';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { registerAction } from '../lib/actions/registry.js';
import { createApi } from '../lib/api/handle.js';
import type { ApiResponse } from '../lib/api/http.js';
import { closeApp, createApp } from '../lib/app.js';
import { planRun } from '../lib/engine/decide/plan.js';
import { type ReapReport, reapRuns } from '../lib/engine/tick/reaper.js';
import { createSqsClient } from '../lib/queue/sqs-queue.js';
import { loadSpec } from '../lib/spec/index.js';
import type { Workflow } from '../lib/spec/schema.js';
import { withStepExecutors } from '../lib/step-executors.js';
import { tenantKeys } from '../lib/store/keys.js';
import { sleep, spawnGroup, stopGroup } from '../scripts/processes.js';
import { RestartableRedis } from './support/restartable-redis.js';
import {
  checkGroups,
  checkMatrix,
  checkRunEvents,
  checkSleeps,
  type Holding,
  type RunSlots,
  slotHoldings,
} from './support/soak-check.js';
import { SOAK_KEYS } from './support/soak-probe.js';
import { benchConfig, REGION, runMain, startLocalSqs, startRedis } from './support/stack.js';
import { percentile, table } from './support/table.js';

/**
 * Soak under faults: many runs of several shapes on a private redis-server and
 * fauxqs, executed by several executor processes (bench/support/soak-worker.ts)
 * while the bench
 * - SIGKILLs a random worker every `--kill-every` ms (± 50 %) and starts a new one:
 *   whatever it had claimed is abandoned mid-step or mid-transition;
 * - sends a fraction `--dup` of all tasks twice (workers and submitter alike);
 * - runs the lease reaper (`reapRuns`) every `--reap-every` ms, a quarter of the
 *   time two at once.
 * The shapes include flow control: a durable sleep between two steps, runs sharing
 * a workflow-level concurrency group (limit 2), jobs sharing a job-level group
 * (limit 3) and a matrix job with maxParallel 2.
 * Then it reads every run's event stream and state and prints: runs submitted,
 * finished, lost (not finished by the deadline), double commits (a step result
 * committed twice, a step started again under a live claim, a job or run ended
 * twice, or two live workers inside one step at once), stuck (state the engine
 * left inconsistent, or a group slot still held after every run ended), over limit
 * (runs that held a slot while their group had more holders than its limit) and
 * early wakes (a sleeping job claimed again before its sleep's end). Exit code 1
 * when any of these (or a matrix job past maxParallel) is not zero.
 *
 *   node --import tsx bench/soak.ts [--runs 1000] [--workers 3] [--pollers 2] [--dup 0.2]
 *     [--kill-every 2000] [--lease 2000] [--visibility 3] [--reap-every 1500]
 *     [--requeue-after 10000] [--rate 40] [--deadline 120] [--redis-restart-every 0]
 *
 * With `--redis-restart-every` ms (0 = never) Redis runs with the append-only file
 * fsynced on every write and is restarted that often (± 50 %), by SIGTERM and
 * SIGKILL in turn, down for 300 ms each time: every client reconnects, and ioredis
 * sends again each command whose reply the restart lost.
 *
 * Runs are submitted through the HTTP API in process, each with its own
 * Idempotency-Key, by a careful client: a 503 (RUN_STATE_UNKNOWN, or the store
 * unavailable), a 429 or an error is asked again with the same key until answered,
 * so each logical run is one run; a run no answer named counts as a double.
 */

const TENANT = 'soak';
const API_KEY = 'soak-bench-key';
const REDIS_UP_TIMEOUT_MS = 60_000;
const MAX_SUBMITS_IN_FLIGHT = 50;
const WORKER = fileURLToPath(new URL('./support/soak-worker.ts', import.meta.url));
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

interface Options {
  runs: number;
  workers: number;
  pollers: number;
  dup: number;
  killEveryMs: number;
  leaseMs: number;
  visibilityS: number;
  reapEveryMs: number;
  requeueAfterMs: number;
  rate: number;
  deadlineS: number;
  redisRestartEveryMs: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1000' },
      workers: { type: 'string', default: '3' },
      pollers: { type: 'string', default: '2' },
      dup: { type: 'string', default: '0.2' },
      'kill-every': { type: 'string', default: '2000' },
      lease: { type: 'string', default: '2000' },
      visibility: { type: 'string', default: '3' },
      'reap-every': { type: 'string', default: '1500' },
      'requeue-after': { type: 'string', default: '10000' },
      rate: { type: 'string', default: '40' },
      deadline: { type: 'string', default: '120' },
      'redis-restart-every': { type: 'string', default: '0' },
    },
  });
  const num = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  return {
    runs: num('runs', 1),
    workers: num('workers', 1),
    pollers: num('pollers', 1),
    dup: num('dup', 0),
    killEveryMs: num('kill-every', 0),
    leaseMs: num('lease', 100),
    visibilityS: num('visibility', 1),
    reapEveryMs: num('reap-every', 50),
    requeueAfterMs: num('requeue-after', 100),
    rate: num('rate', 1),
    deadlineS: num('deadline', 1),
    redisRestartEveryMs: num('redis-restart-every', 0),
  };
}

/** Every job may be killed a few times: retries absorb LEASE_EXPIRED. */
const RETRIES = { max: 3, backoff: 'fixed', initialIntervalMs: 0 };
const probe = (id: string, ms: number) => ({ id, uses: 'action:soak-probe', with: { ms } });

/** The concurrency groups the shapes share across runs, and their limits. */
const WORKFLOW_GROUP = { group: 'soak-wf', limit: 2 };
const JOB_GROUP = { group: 'soak-job', limit: 3 };
const SLEEP_SECONDS = 1;

interface Shape {
  name: string;
  spec: Workflow;
  /** The spec as registered through the API (PUT /v1/workflows/{name}). */
  yaml: string;
  /** The groups its runs and jobs hold slots of (for the over-limit check). */
  slots: RunSlots;
  /** Its matrix jobs: group → instance keys and maxParallel. */
  matrix: Record<string, { instances: string[]; maxParallel: number }>;
  /** Submitted this many in a row, as often as the others overall (a line forms). */
  burst: number;
}

/** The order of submission: each shape in turn, a bursty one `burst` at a time. */
function submissionCycle(shapes: Shape[]): Shape[] {
  const rounds = Math.max(...shapes.map((s) => s.burst));
  const cycle: Shape[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const s of shapes) {
      if (s.burst === 1) cycle.push(s);
      else if (round % s.burst === 0) cycle.push(...Array.from({ length: s.burst }, () => s));
    }
  }
  return cycle;
}

function soakShapes(): Shape[] {
  // The spec check looks the probe up by name, so the submitter must know it; only the
  // workers (support/soak-worker.ts) run it.
  registerAction('soak-probe', async () => {
    throw new Error('soak-probe runs in the soak workers only');
  });
  const yamlOf = new Map<Workflow, string>();
  const spec = (
    name: string,
    jobs: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) => {
    const text = stringify({ name, on: { manual: true }, ...extra, jobs });
    const loaded = loadSpec({ text, format: 'yaml' });
    yamlOf.set(loaded, text);
    return loaded;
  };
  const chain = Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [
      `c${i + 1}`,
      {
        ...(i > 0 ? { needs: [`c${i}`] } : {}),
        retries: RETRIES,
        steps: [probe('one', 20), probe('two', 20)],
      },
    ]),
  );
  const shapes: { name: string; spec: Workflow; burst?: number }[] = [
    {
      name: 'diamond',
      spec: spec('soak-diamond', {
        a: { retries: RETRIES, steps: [probe('s', 30)] },
        b: { needs: ['a'], retries: RETRIES, steps: [probe('s', 60)] },
        c: { needs: ['a'], retries: RETRIES, steps: [probe('s', 60)] },
        d: { needs: ['b', 'c'], retries: RETRIES, steps: [probe('s', 30)] },
      }),
    },
    { name: 'chain of 5', spec: spec('soak-chain', chain) },
    {
      name: 'fail, then retry',
      spec: spec('soak-flaky', {
        f: {
          retries: RETRIES,
          steps: [
            {
              id: 'flake',
              if: '${{ run.attempt == 1 }}',
              uses: 'action:fail',
              with: { message: 'first attempt fails' },
            },
            probe('work', 40),
          ],
        },
        g: { needs: ['f'], retries: RETRIES, steps: [probe('s', 20)] },
      }),
    },
    {
      // The job suspends at the sleep; a delayed SQS message wakes it.
      name: `sleep ${SLEEP_SECONDS} s`,
      spec: spec('soak-sleep', {
        s: {
          retries: RETRIES,
          steps: [
            probe('before', 20),
            { id: 'nap', uses: 'sleep', with: { seconds: SLEEP_SECONDS } },
            probe('after', 20),
          ],
        },
      }),
    },
    {
      // Every run of this shape shares two slots: the rest wait in line, gated.
      // Four come at once, so two of them wait even when no holder was killed.
      name: `workflow group (limit ${WORKFLOW_GROUP.limit})`,
      spec: spec(
        'soak-gated',
        {
          a: { retries: RETRIES, steps: [probe('s', 80)] },
          b: { needs: ['a'], retries: RETRIES, steps: [probe('s', 80)] },
        },
        { concurrency: WORKFLOW_GROUP },
      ),
      burst: 4,
    },
    {
      // b, c, d of every run of this shape share three slots.
      name: `job group (limit ${JOB_GROUP.limit})`,
      spec: spec('soak-lanes', {
        a: { retries: RETRIES, steps: [probe('s', 20)] },
        ...Object.fromEntries(
          ['b', 'c', 'd'].map((j) => [
            j,
            { needs: ['a'], concurrency: JOB_GROUP, retries: RETRIES, steps: [probe('s', 50)] },
          ]),
        ),
        e: { needs: ['b', 'c', 'd'], retries: RETRIES, steps: [probe('s', 20)] },
      }),
    },
    {
      name: 'matrix ×4, maxParallel 2',
      spec: spec('soak-matrix', {
        prep: { retries: RETRIES, steps: [probe('s', 20)] },
        m: {
          needs: ['prep'],
          strategy: { matrix: { i: [1, 2, 3, 4] }, maxParallel: 2 },
          retries: RETRIES,
          steps: [probe('s', 40)],
        },
        join: { needs: ['m'], retries: RETRIES, steps: [probe('s', 20)] },
      }),
    },
  ];
  return shapes.map(({ name, spec, burst }) => {
    const plan = planRun(spec);
    const jobGroups: Record<string, string> = {};
    const matrix: Shape['matrix'] = {};
    for (const p of plan) {
      const group = spec.jobs[p.name]?.concurrency?.group;
      if (group) jobGroups[p.key] = group;
      const m = p.matrixGroup;
      if (m?.maxParallel) {
        matrix[m.name] ??= { instances: [], maxParallel: m.maxParallel };
        matrix[m.name]?.instances.push(p.key);
      }
    }
    return {
      name,
      spec,
      yaml: yamlOf.get(spec) as string,
      slots: {
        ...(spec.concurrency ? { workflowGroup: spec.concurrency.group } : {}),
        ...(Object.keys(jobGroups).length > 0 ? { jobGroups } : {}),
      },
      matrix,
      burst: burst ?? 1,
    };
  });
}

interface Tally {
  [k: string]: number;
}
const add = (t: Tally, k: string, n = 1) => {
  t[k] = (t[k] ?? 0) + n;
};

/**
 * A careful client's call: on a 503 (the store unavailable, or RUN_STATE_UNKNOWN:
 * the run may exist), a 429 or a thrown error, ask again with the same request
 * (the same Idempotency-Key) after Retry-After or a backoff, until answered.
 * Retries are tallied as `submit <why>`.
 */
async function untilAnswered(
  call: () => Promise<ApiResponse>,
  giveUpMs: number,
  stats: Tally,
): Promise<ApiResponse> {
  const giveUpAt = Date.now() + giveUpMs;
  for (let attempt = 0; ; attempt++) {
    let why: string;
    let retryAfterS = 0;
    try {
      const res = await call();
      if (res.status !== 503 && res.status !== 429 && res.status < 500) return res;
      const detail = (res.body as { detail?: string } | undefined)?.detail ?? '';
      // Both 503s ask for a retry with the same key: a RUN_STATE_UNKNOWN whose cause
      // is a lost connection is answered as the store being unavailable.
      why = /may have been created|was created/.test(detail)
        ? '503 RUN_STATE_UNKNOWN'
        : /store is unavailable/.test(detail)
          ? '503 store unavailable'
          : `${res.status} ${(res.body as { title?: string } | undefined)?.title ?? ''}`.trim();
      retryAfterS = Number(res.headers?.['retry-after'] ?? 0) || 0;
      if (Date.now() > giveUpAt) return res;
    } catch (err) {
      why = `error ${(err as Error).name}`;
      if (Date.now() > giveUpAt) throw err;
    }
    add(stats, `submit ${why}`);
    // Backoff from 50 ms to 2 s with jitter, or what the server asked for.
    const backoffMs = Math.min(2_000, 50 * 2 ** attempt) * (0.5 + Math.random());
    await sleep(Math.max(backoffMs, retryAfterS * 1000));
  }
}

await runMain(async (cleanup) => {
  const opts = parseOptions();
  const load = loadavg()[0] ?? 0;
  console.error(`soak: ${JSON.stringify(opts)}; ${cpus().length} CPUs, load ${load.toFixed(2)}`);

  let restartable: RestartableRedis | undefined;
  if (opts.redisRestartEveryMs > 0) {
    const r = await RestartableRedis.start();
    restartable = r;
    cleanup.add(`redis-server :${r.port}`, () => r.destroy());
  }
  const server = restartable ?? (await startRedis(cleanup, { appendonly: false }));
  const sqs = await startLocalSqs(cleanup);
  const sqsClient = createSqsClient({ region: REGION, sqsEndpoint: sqs.endpoint });
  cleanup.add('soak sqs client', async () => sqsClient.destroy());
  const dlq = await sqsClient.send(new CreateQueueCommand({ QueueName: 'soak-dlq' }));
  const dlqUrl = dlq.QueueUrl as string;
  const dlqArn = (
    await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn as string;
  const queue = await sqsClient.send(
    new CreateQueueCommand({
      QueueName: 'soak',
      Attributes: {
        // Short, so a dead worker's messages come back while the run is young: some
        // lapsed leases are reclaimed by the redelivery, others retried by the reaper.
        VisibilityTimeout: String(opts.visibilityS),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 10 }),
      },
    }),
  );
  const config = {
    ...benchConfig(server.url, sqs, queue.QueueUrl as string),
    dlqUrl,
    leaseMs: opts.leaseMs,
    requeueAfterMs: opts.requeueAfterMs,
    apiKeys: `${TENANT}:${API_KEY}`,
  };
  const stats: Tally = {};
  /** An app whose sends are duplicated at the soak's rate. */
  const soakApp = (name: string, c: typeof config) => {
    const a = withStepExecutors(createApp(c));
    cleanup.add(name, () => closeApp(a));
    const send = a.queue.send.bind(a.queue);
    a.queue.send = (tasks, delay) => {
      const out = tasks.flatMap((t) => (Math.random() < opts.dup ? [t, t] : [t]));
      add(stats, 'duplicated', out.length - tasks.length);
      return send(out, delay);
    };
    // connectRedis sets no 'error' listener; ioredis would print each failed reconnect.
    a.redis.on('error', () => add(stats, 'redis connection errors'));
    return a;
  };
  // The reaper's and the checks' app.
  const app = soakApp('soak app', config);
  // The submitter goes through the HTTP API with the submit function's Redis
  // client (functions/submit.ts: fail fast, never resend), as a client would.
  const api = createApi(soakApp('soak submit app', { ...config, redisFailFast: true }));
  const witness = new Redis(server.url, { maxRetriesPerRequest: null });
  witness.on('error', () => {});
  cleanup.add('soak witness client', async () => void witness.disconnect());

  // ── Workers ────────────────────────────────────────────────────────────────
  const logDir = await mkdtemp(join(tmpdir(), 'flowline-soak-'));
  const workers = new Map<string, ChildProcess>();
  let spawned = 0;
  const spawnWorker = (): Promise<void> => {
    const id = `w${++spawned}`;
    const child = spawnGroup(process.execPath, ['--import', 'tsx', WORKER], {
      env: {
        ...process.env,
        LOG_LEVEL: 'error',
        SOAK_CONFIG: JSON.stringify(config),
        SOAK_WORKER_ID: id,
        SOAK_POLLERS: String(opts.pollers),
        SOAK_DUP_RATE: String(opts.dup),
      },
    });
    child.stderr?.pipe(createWriteStream(join(logDir, `${id}.log`)));
    workers.set(id, child);
    const ready = new Promise<void>((resolve) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        if (!out.includes('ready\n')) return;
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      };
      child.stdout?.on('data', onData);
      child.once('exit', () => resolve());
    });
    child.once('exit', (code, signal) => {
      if (workers.get(id) === child) {
        // Not killed by the soak: a crash of its own is worth knowing about.
        workers.delete(id);
        add(stats, 'worker exits unasked');
        console.error(`worker ${id} exited by itself (${code ?? signal}); log ${logDir}/${id}.log`);
        if (!stopping) void spawnWorker();
      }
    });
    return ready;
  };
  let stopping = false;
  const stopWorkers = async () => {
    stopping = true;
    const all = [...workers.values()];
    workers.clear();
    await Promise.all(all.map((c) => stopGroup(c, 'SIGTERM', 5_000)));
  };
  cleanup.add('soak workers', stopWorkers);
  await Promise.all(Array.from({ length: opts.workers }, spawnWorker));

  // ── Chaos: kills and reaper ticks ──────────────────────────────────────────
  let chaos = true;
  const killer = (async () => {
    if (opts.killEveryMs === 0) return;
    while (chaos) {
      await sleep(opts.killEveryMs * (0.5 + Math.random()));
      if (!chaos) break;
      const live = [...workers.entries()];
      const victim = live[Math.floor(Math.random() * live.length)];
      if (!victim) continue;
      const [id, child] = victim;
      workers.delete(id);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      // Before any new attempt can start (that waits for the dead lease to lapse).
      await witness.sadd(SOAK_KEYS.dead, id);
      add(stats, 'kills');
      void spawnWorker();
    }
  })();
  const restarter = (async () => {
    const r = restartable;
    if (!r) return;
    while (chaos) {
      await sleep(opts.redisRestartEveryMs * (0.5 + Math.random()));
      if (!chaos) break;
      // Patient: on the loaded shared machine a start (AOF load included) took over 10 s once.
      await r.restart(r.restarts % 2 === 0 ? 'SIGTERM' : 'SIGKILL', 300, REDIS_UP_TIMEOUT_MS);
    }
  })();
  const reaped: Tally = {};
  let reaping = true;
  const reaper = (async () => {
    while (reaping) {
      const n = Math.random() < 0.25 ? 2 : 1;
      const reports = await Promise.all(
        Array.from({ length: n }, () =>
          reapRuns(app, Date.now()).catch((err) => {
            add(stats, 'reaper errors');
            // A command timeout during a Redis restart is expected: one line, no stack.
            console.error(`reapRuns failed: ${(err as Error).message}`);
            return undefined;
          }),
        ),
      );
      add(stats, 'reaper ticks', n);
      for (const r of reports) {
        for (const [k, v] of Object.entries(r ?? {}) as [keyof ReapReport, number][])
          add(reaped, k, v);
      }
      await sleep(opts.reapEveryMs);
    }
  })();

  // ── Lines: who waits for a slot, sampled (a witness, not a check) ──────────
  const groups = [WORKFLOW_GROUP, JOB_GROUP];
  const lines = new Map(
    groups.map((g) => [
      g.group,
      {
        keys: tenantKeys(config.keyPrefix, TENANT).group(g.group),
        seen: new Set<string>(),
        longest: 0,
      },
    ]),
  );
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        for (const line of lines.values()) {
          const waiting = await witness.zrange(line.keys.queue, 0, -1);
          for (const m of waiting) line.seen.add(m);
          line.longest = Math.max(line.longest, waiting.length);
        }
      } catch {
        // The witness was closed by the cleanup of a bench that failed: stop.
        if (witness.status === 'end') return;
      }
      await sleep(200);
    }
  })();

  // ── Submit, then wait ──────────────────────────────────────────────────────
  const soakShapesList = soakShapes();
  const call = (method: string, path: string, body: string, headers: Record<string, string>) =>
    api({
      method,
      path,
      headers: { authorization: `Bearer ${API_KEY}`, ...headers },
      query: {},
      body,
    });
  for (const shape of soakShapesList) {
    const res = await untilAnswered(
      () =>
        call('PUT', `/v1/workflows/${shape.spec.name}`, shape.yaml, {
          'content-type': 'application/yaml',
        }),
      opts.deadlineS * 1000,
      stats,
    );
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`registering ${shape.spec.name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const shapes = submissionCycle(soakShapesList);
  const runs: { id: string; shape: string; of: Shape }[] = [];
  const submitMs: number[] = [];
  const submitOne = async (i: number) => {
    const shape = shapes[i % shapes.length] as (typeof shapes)[number];
    const started = Date.now();
    // One key per logical run: every retry of it names the same run.
    const res = await untilAnswered(
      () =>
        call('POST', `/v1/workflows/${shape.spec.name}/runs`, '{}', {
          'idempotency-key': `soak-run-${i}`,
        }),
      opts.deadlineS * 1000,
      stats,
    );
    submitMs.push(Date.now() - started);
    if (res.status !== 202 && res.status !== 200)
      throw new Error(`submit ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.headers?.['idempotent-replayed'] === 'true') add(stats, 'submits answered by replay');
    runs[i] = { id: (res.body as { id: string }).id, shape: shape.name, of: shape };
  };
  // Submissions start at --rate whatever earlier ones wait for (many clients, not
  // one): a submit retrying through an outage does not hold the others back.
  const inFlight = new Set<Promise<void>>();
  const t0 = Date.now();
  for (let i = 0; i < opts.runs; i++) {
    const due = t0 + (i / opts.rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight.size >= MAX_SUBMITS_IN_FLIGHT) await Promise.race(inFlight);
    const p: Promise<void> = submitOne(i).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const submittedAt = Date.now();
  console.error(`submitted ${runs.length} runs in ${((submittedAt - t0) / 1000).toFixed(1)} s`);

  const status = new Map<string, string>();
  const deadline = submittedAt + opts.deadlineS * 1000;
  let lastReport = 0;
  for (;;) {
    const open = runs.filter((r) => !FINAL.has(status.get(r.id) ?? ''));
    // A Redis restart fails the read (command timeout): read again on the next turn.
    const fields = await app.runs
      .runFields(
        TENANT,
        open.map((r) => r.id),
        ['status'],
      )
      .catch(() => undefined);
    if (fields) {
      open.forEach((r, i) => {
        status.set(r.id, fields[i]?.[0] ?? 'missing');
      });
    }
    const left = open.filter((r) => !FINAL.has(status.get(r.id) ?? '')).length;
    if (Date.now() - lastReport > 5_000) {
      lastReport = Date.now();
      console.error(
        `  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${runs.length - left}/${runs.length} finished, ${stats.kills ?? 0} kills, ${reaped.expired ?? 0} lease expiries`,
      );
    }
    if (left === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  const finishedAt = Date.now();
  chaos = false;
  sampling = false;
  await Promise.all([killer, restarter, sampler]);
  await stopWorkers();
  reaping = false;
  await reaper;
  // A last tick forgets finished runs a killed worker left on the active list.
  await reapRuns(app, Date.now());

  // ── Check ──────────────────────────────────────────────────────────────────
  const finalStatus: Tally = {};
  const failures: Tally = {};
  const problems: string[] = [];
  let lost = 0;
  let double = 0;
  let stuck = 0;
  let reclaims = 0;
  let leaseRetries = 0;
  let jobs = 0;
  let earlyWakes = 0;
  let matrixOver = 0;
  let sleeps = 0;
  const sleepLateMs: number[] = [];
  const matrixPeak: Record<string, number> = {};
  const matrixMax: Record<string, number> = {};
  const holdings: Holding[] = [];
  const checkedAt = Date.now();
  const active = new Set(await app.runs.allActive());
  for (const run of runs) {
    const st = (await app.runs.runFields(TENANT, [run.id], ['status']))[0]?.[0] ?? 'missing';
    add(finalStatus, st);
    const finished = FINAL.has(st);
    if (!finished) {
      lost++;
      problems.push(`lost: ${run.id} (${run.shape}) is ${st}`);
    }
    const events = (await app.runs.readEvents(TENANT, run.id, undefined, 100_000)).map((e) => ({
      ...e.fields,
      id: e.id,
    }));
    const check = checkRunEvents(events);
    holdings.push(...slotHoldings(run.id, events, run.of.slots, checkedAt));
    const naps = checkSleeps(events);
    sleeps += naps.sleeps;
    sleepLateMs.push(...naps.lateMs);
    earlyWakes += naps.earlyWakes.length;
    for (const w of naps.earlyWakes) problems.push(`early wake: ${run.id} (${run.shape}) ${w}`);
    const matrix = checkMatrix(events, run.of.matrix);
    for (const [g, n] of Object.entries(matrix.peak)) {
      matrixPeak[g] = Math.max(matrixPeak[g] ?? 0, n);
      matrixMax[g] = run.of.matrix[g]?.maxParallel ?? 0;
    }
    if (matrix.over.length > 0) {
      matrixOver++;
      for (const o of matrix.over) problems.push(`over maxParallel: ${run.id} (${run.shape}) ${o}`);
    }
    reclaims += check.reclaims;
    leaseRetries += check.leaseExpired;
    const doubles = [
      ...check.doubleResults.map((d) => `result committed twice: ${d}`),
      ...check.concurrentStarts.map((d) => `step started twice under one claim: ${d}`),
      ...check.doubleJobEnds.map((d) => `job ended twice: ${d}`),
      ...(check.runEnds > 1 ? [`run ended ${check.runEnds} times`] : []),
    ];
    double += doubles.length;
    for (const d of doubles) problems.push(`double: ${run.id} (${run.shape}) ${d}`);
    // The evidence, kept with the worker logs: the streams are gone with the Redis.
    if (doubles.length > 0)
      await writeFile(join(logDir, `${run.id}.events.json`), JSON.stringify(events, null, 1));

    const snap = await app.runs.snapshot(TENANT, run.id);
    const jobStatuses = Object.entries(snap?.jobs ?? {}).filter(
      ([k]) => jobKeyOf(k, 'status') !== undefined,
    );
    jobs += jobStatuses.length;
    const onList = active.has(`${TENANT}/${run.id}`);
    const stuckWhy: string[] = [];
    if (finished) {
      const live = jobStatuses.filter(
        ([, s]) => !['succeeded', 'failed', 'skipped', 'cancelled'].includes(s),
      );
      if (live.length > 0)
        stuckWhy.push(
          `finished with live jobs ${live.map(([k, s]) => `${k.slice(7)}=${s}`).join(',')}`,
        );
      if (onList) stuckWhy.push("finished but still on the reaper's active list");
      if (check.runEnds !== 1) stuckWhy.push(`finished with ${check.runEnds} run end events`);
    } else if (!onList) {
      stuckWhy.push("unfinished and off the reaper's active list: nothing will move it");
    }
    if (stuckWhy.length > 0) {
      stuck++;
      problems.push(`stuck: ${run.id} (${run.shape}) ${stuckWhy.join('; ')}`);
    }
    if (st === 'failed') {
      const error = JSON.parse(snap?.run.failedError ?? '{}') as { code?: string };
      add(failures, `${run.shape}: ${snap?.run.failedJob ?? '?'} ${error.code ?? '?'}`);
    }
  }
  const limits = Object.fromEntries(groups.map((g) => [g.group, g.limit]));
  const grouped = checkGroups(holdings, limits);
  const overLimit = grouped.overRuns.length;
  for (const m of grouped.overMoments) problems.push(`over limit: ${m}`);
  // Every run has ended (or is lost): a slot still held, or a place in line, is a leak
  // that would keep the group's next runs waiting for ever.
  for (const [group, line] of lines) {
    const [held, queued] = await Promise.all([
      witness.zrange(line.keys.holders, 0, -1),
      witness.zrange(line.keys.queue, 0, -1),
    ]);
    const left = [...held.map((m) => `held by ${m}`), ...queued.map((m) => `${m} in line`)];
    if (lost === 0 && left.length > 0) {
      stuck++;
      problems.push(`stuck: group ${group} after every run ended: ${left.join(', ')}`);
    }
  }
  // A retried submit that made a second run instead of finding the first: the tenant
  // holds a run no answer named.
  const answered = new Set(runs.map((r) => r.id));
  const created: string[] = [];
  for (let before: string | undefined; ; ) {
    const page = await app.runs.listRunIds(TENANT, 1000, before);
    created.push(...page);
    if (page.length < 1000) break;
    before = page.at(-1);
  }
  const orphans = created.filter((id) => !answered.has(id));
  double += orphans.length;
  for (const o of orphans.slice(0, 10))
    problems.push(`double: run ${o} created by a retried submit but named by no answer`);
  const overlaps = await witness.lrange(SOAK_KEYS.overlaps, 0, -1);
  double += overlaps.length;
  for (const o of overlaps) problems.push(`double: two live workers inside one step at once: ${o}`);
  const executions = Object.values(await witness.hgetall(SOAK_KEYS.executions)).map(Number);
  const repeated = executions.filter((n) => n > 1).length;

  // ── Report ─────────────────────────────────────────────────────────────────
  const seconds = (finishedAt - t0) / 1000;
  console.log(`## Soak: ${opts.runs} runs, ${opts.workers} workers × ${opts.pollers} pollers\n`);
  console.log(
    `Options: ${JSON.stringify(opts)}. ${cpus().length} CPUs, load ${load.toFixed(2)} at start.\n`,
  );
  console.log(
    table(
      [
        'runs submitted',
        'finished',
        'succeeded',
        'failed',
        'lost',
        'double commits',
        'stuck',
        'over limit',
        'early wakes',
      ],
      [
        [
          runs.length,
          runs.length - lost,
          finalStatus.succeeded ?? 0,
          finalStatus.failed ?? 0,
          lost,
          double,
          stuck,
          overLimit,
          earlyWakes,
        ],
      ],
    ),
  );
  console.log('');
  console.log(
    table(
      ['faults and recoveries', 'count'],
      [
        ['jobs', jobs],
        ['worker SIGKILLs', stats.kills ?? 0],
        ['Redis restarts (SIGTERM and SIGKILL in turn)', restartable?.restarts ?? 0],
        ['longest Redis outage (ms)', Math.max(0, ...(restartable?.outagesMs ?? []))],
        ['Redis connection errors seen by the bench', stats['redis connection errors'] ?? 0],
        ['runs in the tenant / runs submitted', `${created.length} / ${runs.length}`],
        ...Object.entries(stats)
          .filter(([k]) => k.startsWith('submit '))
          .sort()
          .map(([k, n]) => [`${k.replace('submit ', 'submits retried after ')}`, n]),
        [
          'submits answered by replay (Idempotent-Replayed)',
          stats['submits answered by replay'] ?? 0,
        ],
        [
          'submit to answer, p50 / p99 / max (ms)',
          `${percentile(submitMs, 50)} / ${percentile(submitMs, 99)} / ${Math.max(...submitMs)}`,
        ],
        ['workers that exited unasked', stats['worker exits unasked'] ?? 0],
        ['tasks sent twice by the submitter/reaper (workers: see below)', stats.duplicated ?? 0],
        [
          'tasks sent twice by workers',
          Number((await witness.hget(SOAK_KEYS.stats, 'duplicated')) ?? 0),
        ],
        ['reaper ticks (1 or 2 at once)', stats['reaper ticks'] ?? 0],
        [
          'reaper ticks failed by a Redis outage (the next tick goes on)',
          stats['reaper errors'] ?? 0,
        ],
        [
          'lease expiries the reaper settled or tried to (ticks racing count twice)',
          reaped.expired ?? 0,
        ],
        ['retries after LEASE_EXPIRED (event streams)', leaseRetries],
        ['reclaims of a lapsed lease by an SQS redelivery', reclaims],
        ['queued jobs re-sent by the reaper', reaped.resent ?? 0],
        ['dead letters reconciled', reaped.deadLetters ?? 0],
        ['step bodies run more than once (at-least-once, after a crash)', repeated],
        ...groups.flatMap((g) => {
          const line = lines.get(g.group);
          const kind = g === WORKFLOW_GROUP ? 'runs' : 'jobs';
          return [
            [
              `${g.group} (limit ${g.limit}): most holders at once (event streams)`,
              grouped.peak[g.group] ?? 0,
            ],
            [
              `${g.group}: ${kind} seen waiting in line (sampled every 200 ms)`,
              line?.seen.size ?? 0,
            ],
            [`${g.group}: longest line seen`, line?.longest ?? 0],
          ];
        }),
        ['concurrency re-checks by the reaper that let a member go on', reaped.woken ?? 0],
        ...Object.entries(matrixPeak).map(([g, n]) => [
          `matrix ${g}: most instances live at once (maxParallel ${matrixMax[g]})`,
          n,
        ]),
        ['runs with a matrix job past maxParallel', matrixOver],
        [`sleeps (${SLEEP_SECONDS} s suspensions)`, sleeps],
        [
          'sleep end → wake-up claim, p50 / p99 / max (ms)',
          sleepLateMs.length === 0
            ? '—'
            : `${percentile(sleepLateMs, 50)} / ${percentile(sleepLateMs, 99)} / ${Math.max(...sleepLateMs)}`,
        ],
        ['step bodies run in all', executions.reduce((a, b) => a + b, 0)],
        ['wall time to last finish (s)', seconds.toFixed(1)],
      ],
    ),
  );
  if (Object.keys(failures).length > 0) {
    console.log('\nFailed runs by shape, job and error:\n');
    console.log(table(['failure', 'runs'], Object.entries(failures).sort()));
  }
  if (problems.length > 0) {
    console.log(`\nProblems (${problems.length}; first 40):\n`);
    for (const p of problems.slice(0, 40)) console.log(`- ${p}`);
  }
  const failed = lost + double + stuck + overLimit + earlyWakes + matrixOver > 0;
  if (failed) process.exitCode = 1;
  if (failed || (stats['worker exits unasked'] ?? 0) > 0) {
    console.error(`worker logs (stderr of each worker): ${logDir}`);
  } else {
    await rm(logDir, { recursive: true, force: true });
  }
});
