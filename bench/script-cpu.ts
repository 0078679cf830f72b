/**
 * Where Redis' time goes, per script. One run of each shape goes through flowline
 * (API submit, SQS, pollers) while every command the clients send is recorded; then
 * the recording is replayed, command by command, `--rounds` times against a quiet
 * private redis-server (FLUSHALL between rounds; the transitions are deterministic:
 * tokens, claim ids and clocks are in the recorded arguments), reading INFO
 * commandstats after each request. Per script: µs per call (median over calls and rounds), and how much
 * of it is the script's own commands vs the Lua around them (EVALSHA usec less the
 * usec of the commands it ran, from INFO commandstats read after each request).
 *
 *   node --import tsx bench/script-cpu.ts [--rounds 30]
 *
 * commandstats' usec is execution alone (no socket read, no reply write): a script's
 * share of the CPU, not the round trip's (~12 µs unpipelined on this box). The INFO
 * between requests leaves the caches cold, which inflates each request by a fixed
 * amount; the back-to-back totals are the warm figure.
 */
import './support/env.js';
import { parseArgs } from 'node:util';
import { SCRIPT_SOURCES } from '../lib/store/scripts.js';
import { recordRuns } from './support/recorded-runs.js';
import { commandstats, scriptName } from './support/redis-meter.js';
import { runMain } from './support/stack.js';
import { fixed, percentile, table } from './support/table.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const ROUNDS = Number(values.rounds);

await runMain(async (cleanup) => {
  const { runs, replay } = await recordRuns(cleanup);
  for (const src of Object.values(SCRIPT_SOURCES)) await replay.script('LOAD', src);
  const out: string[] = [];
  for (const { shape, commands } of runs) {
    // per request name: total µs per call, inner µs per call
    const per = new Map<string, { total: number[]; inner: number[]; calls: number }>();
    for (let round = 0; round < ROUNDS; round++) {
      await replay.flushall();
      for (const c of commands) {
        await replay.config('RESETSTAT');
        await replay.call(c.name, ...(c.args as string[])).catch(() => undefined);
        const stats = commandstats(String(await replay.info('commandstats')));
        stats.delete('config|resetstat');
        const cmd = c.name.toLowerCase();
        const self = stats.get(cmd);
        if (!self) continue;
        let inner = 0;
        for (const [n, st] of stats) if (n !== cmd) inner += st.usec;
        // A script's own command of the same name as the request: none here (EVALSHA).
        const name = cmd === 'evalsha' ? `evalsha ${scriptName(String(c.args[0])) ?? '?'}` : cmd;
        const p = per.get(name) ?? { total: [], inner: [], calls: 0 };
        p.total.push(self.usec);
        p.inner.push(cmd === 'evalsha' ? inner : 0);
        per.set(name, p);
      }
    }
    // The same recording with no INFO between requests (warm caches): totals only.
    let warmEval = 0;
    let warmInner = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await replay.flushall();
      await replay.config('RESETSTAT');
      for (const c of commands)
        await replay.call(c.name, ...(c.args as string[])).catch(() => undefined);
      const stats = commandstats(String(await replay.info('commandstats')));
      for (const [n, st] of stats) {
        if (n === 'evalsha') warmEval += st.usec;
        else if (n !== 'config|resetstat' && n !== 'flushall') warmInner += st.usec;
      }
    }
    const jobs = shape.jobs.length;
    const rows = [...per.entries()].map(([name, p]) => {
      const sum = p.total.reduce((s, x) => s + x, 0) / ROUNDS;
      const innerSum = p.inner.reduce((s, x) => s + x, 0) / ROUNDS;
      return {
        name,
        calls: p.total.length / ROUNDS,
        sum,
        innerSum,
        median: percentile(p.total, 50),
      };
    });
    rows.sort((a, b) => b.sum - a.sum);
    const total = rows.reduce((s, r) => s + r.sum, 0);
    out.push(
      `### ${shape.name}: ${jobs} jobs, ${commands.length} requests, ${ROUNDS} rounds; ` +
        `execution ${fixed(total / jobs)} µs/job with INFO between requests (cold caches); ` +
        `back to back (warm): EVALSHA ${fixed(warmEval / ROUNDS / jobs)} µs/job, all other commands ` +
        `(in scripts and top level) ${fixed(warmInner / ROUNDS / jobs)} µs/job`,
      table(
        [
          'request',
          'calls/job',
          'µs/call median',
          'µs/call mean',
          'of which commands',
          'Lua',
          'µs/job',
        ],
        rows.map((r) => [
          r.name,
          fixed(r.calls / jobs, 2),
          fixed(r.median),
          fixed(r.sum / r.calls),
          fixed(r.innerSum / r.calls),
          fixed((r.sum - r.innerSum) / r.calls),
          fixed(r.sum / jobs),
        ]),
      ),
      '',
    );
    console.error(`  ${shape.name} done`);
  }
  console.log(out.join('\n'));
});
