import './support/env.js';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type Engine, startBullmq, startFlowline } from './support/engines.js';
import { IN_FLIGHT } from './support/executor.js';
import {
  idleCpuRate,
  installClientCounter,
  type Measurement,
  requestCpuUs,
  startWindow,
  total,
} from './support/redis-meter.js';
import { allShapes, type Shape } from './support/shapes.js';
import { type Cleanup, runMain, startLocalSqs, startRedis } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

/**
 * Redis cost per job, flowline against BullMQ, for the shapes of the quality bar
 * (DESIGN.md: at most a third of BullMQ's commands and CPU per job).
 *
 *   node --import tsx bench/redis-cost.ts [--diamond 100] [--fanout 10] [--chain 50] [--repeat 3] [--aof]
 *
 * Each engine gets its own fresh redis-server and one warm-up run per shape
 * (connections open, Lua scripts cached). Then, `repeat` times, for each shape and
 * each engine in turn: RESETSTAT, submit all runs at once, wait until all have
 * succeeded, read INFO. Engines alternate window by window so that load from
 * elsewhere on the machine drifts onto both alike. See support/redis-meter.ts for
 * what is counted and how.
 */

const BAR = 1 / 3;
/** 1-minute load average when the bench began: others' work skews the CPU figures. */
const LOAD_AT_START = loadavg()[0] ?? 0;

interface Options {
  runs: Map<Shape, number>;
  repeat: number;
  appendonly: boolean;
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
  windows: (Measurement & { runMs: number })[];
}

function parseOptions(shapes: Shape[]): Options {
  const { values } = parseArgs({
    options: {
      diamond: { type: 'string', default: '100' },
      fanout: { type: 'string', default: '10' },
      chain: { type: 'string', default: '50' },
      repeat: { type: 'string', default: '3' },
      aof: { type: 'boolean', default: false },
    },
  });
  const count = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} takes a positive integer`);
    return n;
  };
  const runs = [
    count(values.diamond, 'diamond'),
    count(values.fanout, 'fanout'),
    count(values.chain, 'chain'),
  ];
  return {
    runs: new Map(shapes.map((s, i) => [s, runs[i] ?? 1])),
    repeat: count(values.repeat, 'repeat'),
    appendonly: values.aof,
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
): Promise<Measurement & { runMs: number }> {
  // Let the previous window's stragglers (SQS deletes, BullMQ's next fetch) settle.
  await new Promise((r) => setTimeout(r, 250));
  const window = await startWindow(side.port);
  const t0 = performance.now();
  await side.engine.run(shape, runs);
  const runMs = performance.now() - t0;
  return { ...(await window.end()), runMs };
}

const jobsPerWindow = (r: Row) => r.runs * r.shape.jobs.length;
/** A count summed over all windows, per job. */
const perJob = (r: Row, count: (m: Measurement) => number) =>
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
      'in scripts/job',
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
        fixed(perJob(r, (m) => total(m.server) - total(m.client))),
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

function ratios(rows: Row[], shapes: Shape[]): string {
  const verdict = (x: number) => (x <= BAR ? 'yes' : 'no');
  return table(
    ['shape', 'cmds fl/bull', 'top-level fl/bull', 'CPU fl/bull', '≤ 1/3 cmds', '≤ 1/3 CPU'],
    shapes.map((shape) => {
      const [fl, bull] = ['flowline', 'BullMQ'].map((name) =>
        rows.find((r) => r.shape === shape && r.side.engine.name === name),
      );
      if (!fl || !bull) return [shape.name, '—', '—', '—', '—', '—'];
      const ratio = (f: (r: Row) => number) => f(fl) / f(bull);
      const cmds = ratio((r) => perJob(r, (m) => total(m.server)));
      const top = ratio((r) => perJob(r, (m) => total(m.client)));
      const cpu = ratio((r) => median(cpuPerJob(r)));
      return [
        shape.name,
        fixed(cmds, 2),
        fixed(top, 2),
        fixed(cpu, 2),
        verdict(cmds),
        verdict(cpu),
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
      `appendonly ${opts.appendonly ? 'yes' : 'no'}, at most ${IN_FLIGHT} jobs in flight per engine`,
    '',
    summary(rows),
    '',
    ratios(rows, shapes),
    '',
    'Redis cmds/job: calls in INFO commandstats. Redis 7 counts the commands a script runs',
    '  (redis.call) under their own names, besides the EVALSHA itself.',
    'top-level/job: commands the ioredis clients wrote (requests; pipelining may share a',
    '  TCP write between several). in scripts/job: the difference.',
    'CPU: redis-server used_cpu_user + used_cpu_sys per window, less its idle rate',
    `  (${idle.join(', ')}); median over windows, range = min–max.`,
    'in/out B/job: total_net_input_bytes / total_net_output_bytes (requests / replies).',
    'Per-run work (flowline createRun + ZADD, BullMQ adds) is spread over the jobs.',
    'run ms: submit to last run succeeded (median); the window adds a 100 ms settle.',
    `Price of a round trip: Redis CPU per unpipelined PING = ${request.join(', ')}.`,
    '',
    ...shapes.flatMap((s) => [`Per command, per job — ${s.name}`, breakdown(rows, s), '']),
  ].join('\n');
}

await runMain(async (cleanup) => {
  const shapes = allShapes();
  const opts = parseOptions(shapes);
  installClientCounter();
  const sqs = await startLocalSqs(cleanup);
  const sides = [
    await startSide(cleanup, opts, shapes, (redis) => startFlowline(redis.url, sqs)),
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
});
