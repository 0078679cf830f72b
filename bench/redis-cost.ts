import './support/env.js';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { withScripts } from '../lib/store/scripts.js';
import { summarizeInside, traceCommands } from './support/command-trace.js';
import { type Engine, type SubmitPath, startBullmq, startFlowline } from './support/engines.js';
import { IN_FLIGHT } from './support/executor.js';
import {
  idleCpuRate,
  installClientCounter,
  type Measurement,
  nameScripts,
  requestCpuUs,
  startWindow,
  total,
} from './support/redis-meter.js';
import { allShapes, oneStep, type Shape } from './support/shapes.js';
import { type Cleanup, runMain, startLocalSqs, startRedis } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

/**
 * Redis cost per job, flowline against BullMQ, for the shapes of the quality bar
 * (issue 10: Redis CPU per job at most half of BullMQ's, at most 20 commands per
 * job, at most 2 requests for a one-step job). A run's whole cost counts: with
 * `--submit api` (the default) each run goes through the HTTP API's submit route.
 *
 *   node --import tsx bench/redis-cost.ts [--onestep 200] [--diamond 100] [--fanout 10] [--chain 50]
 *        [--repeat 3] [--aof] [--submit api|admit] [--connections per-poller|shared]
 *
 * Each engine gets its own fresh redis-server and one warm-up run per shape
 * (connections open, Lua scripts cached). Then, `repeat` times, for each shape and
 * each engine in turn: RESETSTAT, submit all runs at once, wait until all have
 * succeeded, read INFO. Engines alternate window by window so that load from
 * elsewhere on the machine drifts onto both alike. See support/redis-meter.ts for
 * what is counted and how.
 */

/** The bars: CPU per job against BullMQ's, commands per job, requests of a one-step job. */
const CPU_BAR = 0.5;
const CMDS_BAR = 20;
const ONE_STEP_REQUESTS_BAR = 2;
/** The scripts of a job's own transitions, as nameScripts labels their EVALSHAs. */
const JOB_SCRIPTS = ['claimJob', 'commitStep', 'finishJob', 'retryJob', 'requeueJob'];
/** 1-minute load average when the bench began: others' work skews the CPU figures. */
const LOAD_AT_START = loadavg()[0] ?? 0;

interface Options {
  runs: Map<Shape, number>;
  repeat: number;
  appendonly: boolean;
  submit: SubmitPath;
  connections: 'shared' | 'per-poller';
}

/** One engine on its own redis-server. */
interface Side {
  engine: Engine;
  port: number;
  /** The server's CPU rate before the engine connected, µs/s. */
  idleUsPerS: number;
  /** The server's CPU per unpipelined PING, µs. */
  requestUs: number;
}

/** One shape on one engine: a measurement per window. */
interface Row {
  shape: Shape;
  side: Side;
  runs: number;
  windows: (Measurement & { runMs: number; sqsSends: number })[];
}

function parseOptions(shapes: Shape[]): Options {
  const { values } = parseArgs({
    options: {
      onestep: { type: 'string', default: '200' },
      diamond: { type: 'string', default: '100' },
      fanout: { type: 'string', default: '10' },
      chain: { type: 'string', default: '50' },
      repeat: { type: 'string', default: '3' },
      aof: { type: 'boolean', default: false },
      submit: { type: 'string', default: 'api' },
      connections: { type: 'string', default: 'per-poller' },
    },
  });
  const count = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} takes a positive integer`);
    return n;
  };
  if (values.submit !== 'api' && values.submit !== 'admit')
    throw new Error('--submit takes api or admit');
  if (values.connections !== 'shared' && values.connections !== 'per-poller')
    throw new Error('--connections takes shared or per-poller');
  const runs = [
    count(values.onestep, 'onestep'),
    count(values.diamond, 'diamond'),
    count(values.fanout, 'fanout'),
    count(values.chain, 'chain'),
  ];
  return {
    runs: new Map(shapes.map((s, i) => [s, runs[i] ?? 1])),
    repeat: count(values.repeat, 'repeat'),
    appendonly: values.aof,
    submit: values.submit,
    connections: values.connections,
  };
}

/** A fresh redis-server, its idle CPU rate, then the engine on it, warmed up. */
async function startSide(
  cleanup: Cleanup,
  opts: Options,
  shapes: Shape[],
  start: (redis: { url: string; port: number }) => Promise<Engine>,
): Promise<Side> {
  const redis = await startRedis(cleanup, { appendonly: opts.appendonly });
  const idleUsPerS = await idleCpuRate(redis.port);
  const requestUs = await requestCpuUs(redis.port);
  const engine = await start(redis);
  cleanup.add(engine.name, () => engine.close());
  // A script's first use on a connection is an EVAL carrying its whole body; the
  // steady state is EVALSHA, so that is what gets measured.
  for (const shape of shapes) await engine.run(shape, 1);
  return { engine, port: redis.port, idleUsPerS, requestUs };
}

/** One measured window; `runMs` is the time until the last run succeeded. */
async function measureWindow(
  side: Side,
  shape: Shape,
  runs: number,
): Promise<Measurement & { runMs: number; sqsSends: number }> {
  // Let the previous window's stragglers (SQS deletes, BullMQ's next fetch) settle.
  await new Promise((r) => setTimeout(r, 250));
  const window = await startWindow(side.port);
  const sendsBefore = side.engine.sqsSends?.() ?? 0;
  const t0 = performance.now();
  await side.engine.run(shape, runs);
  const runMs = performance.now() - t0;
  const m = await window.end();
  return { ...m, runMs, sqsSends: (side.engine.sqsSends?.() ?? 0) - sendsBefore };
}

const jobsPerWindow = (r: Row) => r.runs * r.shape.jobs.length;
/** A count summed over all windows, per job. */
type WindowMeasurement = Row['windows'][number];
const perJob = (r: Row, count: (m: WindowMeasurement) => number) =>
  r.windows.reduce((s, m) => s + count(m), 0) / (jobsPerWindow(r) * r.windows.length);
/** Redis CPU per job of each window, less what the server burns idle over that window. */
const cpuPerJob = (r: Row) =>
  r.windows.map((m) => (m.cpuUs - (r.side.idleUsPerS * m.wallMs) / 1000) / jobsPerWindow(r));
const median = (xs: number[]) => percentile(xs, 50);

function summary(rows: Row[]): string {
  return table(
    [
      'shape',
      'engine',
      'runs × windows',
      'jobs',
      'Redis cmds/job',
      'top-level/job',
      'reads/job',
      'in scripts/job',
      'SQS sends/job',
      'CPU µs/job',
      'CPU range',
      'in B/job',
      'out B/job',
      'run ms',
    ],
    rows.map((r) => {
      const cpu = cpuPerJob(r);
      return [
        r.shape.name,
        r.side.engine.name,
        `${r.runs} × ${r.windows.length}`,
        jobsPerWindow(r) * r.windows.length,
        fixed(perJob(r, (m) => total(m.server))),
        fixed(perJob(r, (m) => total(m.client))),
        fixed(perJob(r, (m) => m.reads)),
        fixed(perJob(r, (m) => total(m.server) - total(m.client))),
        r.side.engine.sqsSends ? fixed(perJob(r, (m) => m.sqsSends)) : '',
        fixed(median(cpu)),
        `${fixed(Math.min(...cpu), 0)}–${fixed(Math.max(...cpu), 0)}`,
        fixed(
          perJob(r, (m) => m.netInBytes),
          0,
        ),
        fixed(
          perJob(r, (m) => m.netOutBytes),
          0,
        ),
        fixed(median(r.windows.map((m) => m.runMs)), 0),
      ];
    }),
  );
}

/** Requests per job for the job's own transitions (claim, commits, finish…). */
const jobRequests = (r: Row) =>
  perJob(r, (m) =>
    JOB_SCRIPTS.reduce((sum, name) => sum + (m.client.get(`evalsha ${name}`) ?? 0), 0),
  );

function ratios(rows: Row[], shapes: Shape[]): string {
  const verdict = (ok: boolean) => (ok ? 'yes' : 'no');
  return table(
    [
      'shape',
      `cmds/job (≤ ${CMDS_BAR})`,
      'cmds fl/bull',
      'requests/job fl / bull',
      'job transitions/job',
      'reads/job fl / bull',
      `CPU fl/bull (≤ ${CPU_BAR})`,
      'bars met',
    ],
    shapes.map((shape) => {
      const [fl, bull] = ['flowline', 'BullMQ'].map((name) =>
        rows.find((r) => r.shape === shape && r.side.engine.name === name),
      );
      if (!fl || !bull) return [shape.name, '—', '—', '—', '—', '—', '—', '—'];
      const cmds = (r: Row) => perJob(r, (m) => total(m.server));
      const requests = (r: Row) => perJob(r, (m) => total(m.client));
      const reads = (r: Row) => perJob(r, (m) => m.reads);
      const cpu = median(cpuPerJob(fl)) / median(cpuPerJob(bull));
      const oneJob = shape.jobs.length === 1;
      const met = [
        `cmds ${verdict(cmds(fl) <= CMDS_BAR)}`,
        `CPU ${verdict(cpu <= CPU_BAR)}`,
        ...(oneJob ? [`requests ${verdict(requests(fl) <= ONE_STEP_REQUESTS_BAR)}`] : []),
      ];
      return [
        shape.name,
        fixed(cmds(fl)),
        fixed(cmds(fl) / cmds(bull), 2),
        `${fixed(requests(fl))} / ${fixed(requests(bull))}`,
        fixed(jobRequests(fl)),
        `${fixed(reads(fl))} / ${fixed(reads(bull))}`,
        fixed(cpu, 2),
        met.join(', '),
      ];
    }),
  );
}

/** Per command, per job: executed by the server (scripts included) and sent by clients. */
function breakdown(rows: Row[], shape: Shape): string {
  const mine = rows.filter((r) => r.shape === shape);
  const calls = (r: Row, name: string, side: 'server' | 'client') =>
    perJob(r, (m) => m[side].get(name) ?? 0);
  const names = new Set(
    mine.flatMap((r) => r.windows.flatMap((m) => [...m.server.keys(), ...m.client.keys()])),
  );
  const weight = (name: string) => mine.reduce((s, r) => s + calls(r, name, 'server'), 0);
  const sorted = [...names].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
  const cell = (n: number) => (n > 0 ? fixed(n, 2) : '');
  return table(
    [
      'command',
      ...mine.flatMap((r) => [`${r.side.engine.name} executed`, `${r.side.engine.name} sent`]),
    ],
    sorted.map((name) => [
      name,
      ...mine.flatMap((r) => [cell(calls(r, name, 'server')), cell(calls(r, name, 'client'))]),
    ]),
  );
}

function report(rows: Row[], shapes: Shape[], opts: Options): string {
  const sides = [...new Set(rows.map((r) => r.side))];
  const idle = sides.map((s) => `${s.engine.name} ${fixed(s.idleUsPerS, 0)} µs/s`);
  const request = sides.map((s) => `${s.engine.name}'s server ${fixed(s.requestUs, 1)} µs`);
  return [
    `Redis cost per job — ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `Node ${process.version}, load before start ${LOAD_AT_START.toFixed(2)}, ` +
      `appendonly ${opts.appendonly ? 'yes' : 'no'}, at most ${IN_FLIGHT} jobs in flight per engine, ` +
      `flowline submits ${opts.submit === 'api' ? 'through the HTTP API' : 'with admitRun'}, ` +
      `connections ${opts.connections === 'per-poller' ? 'one per poller and one for submits' : 'one shared'}`,
    '',
    summary(rows),
    '',
    ratios(rows, shapes),
    '',
    'Redis cmds/job: calls in INFO commandstats. Redis 7 counts the commands a script runs',
    '  (redis.call) under their own names, besides the EVALSHA itself.',
    'top-level/job: commands the ioredis clients wrote (requests; pipelining may share a',
    '  TCP write between several). in scripts/job: the difference.',
    'reads/job: total_reads_processed, the reads Redis made from client sockets: requests',
    '  that arrived together (pipelined, or one TCP write) count once. Per read Redis pays',
    '  the syscalls and event-loop work an unpipelined request costs.',
    'job transitions/job: the EVALSHAs of the job scripts (claim, commit, finish, retry,',
    "  requeue) sent per job; requests/job adds the run's own (submit, admission, end).",
    'SQS sends/job: SendMessageBatch requests flowline made (first jobs, ready jobs).',
    'CPU: redis-server used_cpu_user + used_cpu_sys per window, less its idle rate',
    `  (${idle.join(', ')}); median over windows, range = min–max.`,
    'in/out B/job: total_net_input_bytes / total_net_output_bytes (requests / replies).',
    `Per-run work (flowline ${opts.submit === 'api' ? 'the API submit route, ' : ''}admission and run end, BullMQ adds) is spread over the jobs.`,
    'run ms: submit to last run succeeded (median); the window adds a 100 ms settle.',
    `Price of a round trip: Redis CPU per unpipelined PING = ${request.join(', ')}.`,
    '',
    ...shapes.flatMap((s) => [`Per command, per job — ${s.name}`, breakdown(rows, s), '']),
  ].join('\n');
}

await runMain(async (cleanup) => {
  const shapes = [oneStep(), ...allShapes()];
  const opts = parseOptions(shapes);
  installClientCounter();
  // The engine's scripts by SHA, so the sent EVALSHAs are counted per script.
  const named = withScripts(new Redis({ lazyConnect: true }));
  nameScripts(named);
  named.disconnect();
  const sqs = await startLocalSqs(cleanup);
  const sides = [
    await startSide(cleanup, opts, shapes, (redis) =>
      startFlowline(redis.url, sqs, {}, { submit: opts.submit, connections: opts.connections }),
    ),
    await startSide(cleanup, opts, shapes, (redis) => startBullmq(redis.port, shapes)),
  ];
  const rows: Row[] = shapes.flatMap((shape) =>
    sides.map((side) => ({ shape, side, runs: opts.runs.get(shape) ?? 1, windows: [] })),
  );
  for (let rep = 0; rep < opts.repeat; rep++) {
    for (const row of rows) {
      const m = await measureWindow(row.side, row.shape, row.runs);
      row.windows.push(m);
      console.error(
        `  ${rep + 1}/${opts.repeat} ${row.side.engine.name} ${row.shape.name}: ` +
          `${row.runs} runs in ${fixed(m.runMs, 0)} ms`,
      );
    }
  }
  console.log(report(rows, shapes, opts));
  console.log(await traceOneRun(sides[0] as Side, shapes[0] as Shape));
});

/** The requests of one run of `shape`, alone, with the commands each script ran (MONITOR). */
async function traceOneRun(side: Side, shape: Shape): Promise<string> {
  const requests = await traceCommands(side.port, () => side.engine.run(shape, 1));
  const total = requests.reduce((n, r) => n + 1 + r.inside.length, 0);
  return [
    `One run of the ${shape.name} shape on ${side.engine.name}, request by request (MONITOR): ` +
      `${requests.length} requests, ${total} commands`,
    table(
      ['#', 'request', 'commands inside', 'inside'],
      requests.map((r, i) => [i + 1, r.name, r.inside.length, summarizeInside(r.inside)]),
    ),
  ].join('\n');
}
