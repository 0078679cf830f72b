/**
 * Where a script's time goes, phase by phase: claimJob and finishJob are loaded a
 * second time with timing marks pasted in (redis.call('TIME') at each mark, its
 * delta HINCRBY'd into a `prof` hash; every redis.call wrapped so the time inside
 * commands is kept apart), then the commands of one recorded run of each shape are
 * replayed `ROUNDS` times against a quiet redis-server, the EVALSHAs of those two
 * scripts sent to the marked copies (see bench/script-cpu.ts for the recording).
 * Prints µs per job per phase, `:cmd` the part inside redis.call. The marks find
 * their place by text: after a change to the Lua, a missing mark is reported.
 * Wall-clock (TIME): on a loaded machine, read it as proportions, not absolutes.
 *
 *   ROUNDS=30 node --import tsx bench/script-phases.ts
 */
import './support/env.js';
import { createHash } from 'node:crypto';
import { SCRIPT_SOURCES } from '../lib/store/scripts.js';
import { recordRuns } from './support/recorded-runs.js';
import { scriptName } from './support/redis-meter.js';
import { runMain } from './support/stack.js';

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const PRE = `local __inner, __innerLast = 0, 0
local function __now() local t = redis.call('TIME') return t[1]*1000000+t[2] end
local __last = __now()
local function __mark(l) local n = __now() redis.call('HINCRBY', 'prof', l, n-__last) redis.call('HINCRBY', 'prof', l..':cmd', __inner-__innerLast) __innerLast = __inner __last = __now() end
`;
const WRAP = `local rcall = function(...) local a = __now() local r = redis.call(...) __inner = __inner + __now() - a return r end`;
function instrument(name: string, src: string): string {
  let s = PRE + src.replace('local rcall = redis.call', WRAP);
  const marks: [string, string][] =
    name === 'finishJob'
      ? [
          ['\nlocal job, fence, mode, status', "\n__mark('a includes')"],
          ['\nif not holds(job', "\n__mark('b read')"],
          ['\nlocal stepField, stepRecord = stepResult', "\n__mark('c holds')"],
          ['\nlocal reply = ', "\n__mark('d stepResult')"],
          ['\nif writes then', "\n__mark('e finishLean (deps read, decided)')"],
          ['\n  return reply\nend', "\n  __mark('f finishLean writes')"],
          ['\n  local runStatus, _, cancelling = finishJob', "\n  __mark('g general: set-up')"],
          ['\n    endRun(runStatus)', "\n    __mark('h cascade')"],
          [
            '\n  return remember(job, fence, mode, reply)',
            "\n  local __r = remember(job, fence, mode, reply) __mark('i remember+flush') do return __r end",
          ],
          ['\n  -- Written now: this transition', "\n  __mark('e1 endRun head')"],
          ["\n  -- Rewritten, not HDEL'd", "\n  __mark('e2 flush, events DUMP')"],
          ['\n  -- Read, not flagged: a run', "\n  __mark('e3 jobs rewrite')"],
        ]
      : name === 'claimJob'
        ? [
            ['\nlocal job, attempt, claimId', "\n__mark('a includes')"],
            ['\nlocal status, fence = state[1], state[4]', "\n__mark('b HMGET state')"],
            ['\n-- A job never claimed has no step records', "\n__mark('c run/refuse')"],
            ['\n-- Absent in attempt 1, timeoutFrom', "\n__mark('d steprecords')"],
            ["\n-- Each need's status and outputs", "\n__mark('e writes')"],
          ]
        : [];
  for (const [at, ins] of marks) {
    const i = s.indexOf(at);
    if (i < 0) {
      console.error('no mark', name, at);
      continue;
    }
    s = s.slice(0, i) + ins + s.slice(i);
  }
  if (name === 'claimJob')
    s = s.replace(/\nreturn \{1, fence,/, "\n__mark('f needs')\nreturn {1, fence,");
  return s;
}
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

await runMain(async (cleanup) => {
  const { runs, replay } = await recordRuns(cleanup);
  const swap = new Map<string, string>();
  for (const [name, src] of Object.entries(SCRIPT_SOURCES)) {
    await replay.script('LOAD', src);
    if (name === 'finishJob' || name === 'claimJob') {
      const inst = instrument(name, src);
      await replay.script('LOAD', inst);
      swap.set(sha1(src), sha1(inst));
    }
  }
  for (const { shape, commands } of runs) {
    const totals = new Map<string, number>();
    const counts = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      await replay.flushall();
      for (const c of commands) {
        const args = [...c.args];
        if (c.name === 'evalsha') {
          const to = swap.get(String(args[0]));
          if (to) {
            args[0] = to;
            const n = scriptName(String(c.args[0])) ?? '?';
            counts.set(n, (counts.get(n) ?? 0) + 1);
          }
        }
        await replay
          .call(c.name, ...(args as string[]))
          .catch((e) => console.error(String(e).slice(0, 200)));
      }
      const prof = await replay.hgetall('prof');
      for (const [k, v] of Object.entries(prof)) totals.set(k, (totals.get(k) ?? 0) + Number(v));
    }
    console.log(
      `### ${shape.name} (${shape.jobs.length} jobs), µs per job: calls ${JSON.stringify(Object.fromEntries([...counts].map(([k, v]) => [k, v / ROUNDS / shape.jobs.length])))}`,
    );
    for (const [k, v] of [...totals].sort())
      console.log(`  ${k.padEnd(28)} ${(v / ROUNDS / shape.jobs.length).toFixed(1)}`);
  }
});
