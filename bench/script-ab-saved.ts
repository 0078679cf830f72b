/**
 * A/B of the scripts between two versions of the code, in one process (the box is
 * shared: compare in one run). `save FILE` records one run of each shape (as
 * script-cpu.ts) with the scripts' sources; without it, the current code is recorded
 * and both recordings replayed round by round, interleaved, on a quiet redis-server:
 * warm EVALSHA µs/job back to back, and per script µs/call (INFO after each request).
 *
 *   node --import tsx bench/script-ab-saved.ts save /tmp/before.json
 *   node --import tsx bench/script-ab-saved.ts /tmp/before.json [rounds]
 */
import './support/env.js';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { SCRIPT_SOURCES } from '../lib/store/scripts.js';
import { type Recorded, recordRuns } from './support/recorded-runs.js';
import { scriptName } from './support/redis-meter.js';
import { runMain } from './support/stack.js';
import { fixed, percentile } from './support/table.js';

interface Saved {
  sources: Record<string, string>;
  runs: { shape: string; jobs: number; commands: { name: string; args: string[] }[] }[];
}

const sha = (s: string) => createHash('sha1').update(s).digest('hex');

function toSaved(runs: Awaited<ReturnType<typeof recordRuns>>['runs']): Saved {
  return {
    sources: { ...SCRIPT_SOURCES },
    runs: runs.map((r) => ({
      shape: r.shape.name,
      jobs: r.shape.jobs.length,
      commands: r.commands.map((c: Recorded) => ({ name: c.name, args: c.args.map(String) })),
    })),
  };
}

await runMain(async (cleanup) => {
  const [mode, file] = process.argv.slice(2);
  const { runs, replay } = await recordRuns(cleanup);
  const current = toSaved(runs);
  if (mode === 'save') {
    writeFileSync(file as string, JSON.stringify(current));
    return;
  }
  const before = JSON.parse(readFileSync(mode as string, 'utf8')) as Saved;
  const rounds = Number(file ?? 30);
  const names = new Map<string, string>();
  for (const [label, saved] of [
    ['A', before],
    ['B', current],
  ] as const) {
    for (const [name, src] of Object.entries(saved.sources)) {
      await replay.script('LOAD', src);
      names.set(sha(src), `${name}`);
      void label;
    }
  }
  const nameOf = (c: { name: string; args: string[] }) =>
    c.name === 'evalsha'
      ? (names.get(String(c.args[0])) ?? scriptName(String(c.args[0])) ?? '?')
      : c.name;
  const usec = async (cmd: string) => {
    const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+),usec=(\\d+)`).exec(
      String(await replay.info('commandstats')),
    );
    return m ? Number(m[2]) : 0;
  };
  for (const run of current.runs) {
    const a = before.runs.find((r) => r.shape === run.shape);
    if (!a) continue;
    const warm = { A: 0, B: 0 };
    const per = { A: new Map<string, number[]>(), B: new Map<string, number[]>() };
    for (let round = 0; round < rounds; round++) {
      for (const [label, rec] of [
        ['A', a],
        ['B', run],
      ] as const) {
        await replay.flushall();
        await replay.config('RESETSTAT');
        for (const c of rec.commands) await replay.call(c.name, ...c.args).catch(() => undefined);
        warm[label] += await usec('evalsha');
        await replay.flushall();
        for (const c of rec.commands) {
          const n = nameOf(c);
          const measured = n === 'claimJob' || n === 'commitStep' || n === 'finishJob';
          if (measured) await replay.config('RESETSTAT');
          await replay.call(c.name, ...c.args).catch(() => undefined);
          if (!measured) continue;
          const list = per[label].get(n) ?? [];
          list.push(await usec('evalsha'));
          per[label].set(n, list);
        }
      }
    }
    const lines = [
      `### ${run.shape}: warm EVALSHA µs/job A ${fixed(warm.A / rounds / a.jobs)} → B ${fixed(warm.B / rounds / run.jobs)}`,
    ];
    for (const n of ['claimJob', 'commitStep', 'finishJob']) {
      const xa = per.A.get(n);
      const xb = per.B.get(n);
      if (!xa || !xb) continue;
      const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
      lines.push(
        `  ${n.padEnd(11)} median/mean µs/call A ${fixed(percentile(xa, 50))} / ${fixed(mean(xa), 1)} → B ${fixed(percentile(xb, 50))} / ${fixed(mean(xb), 1)}`,
      );
    }
    console.log(lines.join('\n'));
  }
});
