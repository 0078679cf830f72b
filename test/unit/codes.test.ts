import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, SCRIPT_CODES } from '../../lib/store/codes.js';
import { LUA_SCRIPTS } from '../../lib/store/lua/scripts.generated.js';
import { LUA_DIR } from '../../scripts/build-lua.js';

/** The numeric codes a script's header lists under Output (`{-1} …`, `-2 …`, `{1, fence, …}`). */
function headerCodes(file: string): number[] {
  const text = readFileSync(`${LUA_DIR}${file}`, 'utf8');
  const header = text.slice(0, text.indexOf(']]'));
  const output = header.slice(header.indexOf('Output:'));
  const codes = [...output.matchAll(/^\s*\{?(-?\d+)[\s,}]/gm)].map((m) => Number(m[1]));
  return [...new Set(codes)].sort((a, b) => a - b);
}

describe('script codes (lib/store/codes.ts)', () => {
  it.each(Object.entries(LUA_SCRIPTS))(
    '%s: the table lists the codes its header does',
    (name, s) => {
      const table = (SCRIPT_CODES as Record<string, Record<number, string>>)[name] ?? {};
      const codes = Object.keys(table)
        .map(Number)
        .sort((a, b) => a - b);
      expect(codes).toEqual(headerCodes(s.file));
    },
  );

  it('a -2 means what its script says, not one thing for all', () => {
    expect(decode.claimJob([-2]).kind).toBe('run-finished');
    expect(decode.commitStep(-2).kind).toBe('cancelling');
    expect(decode.cancelRun(-2).kind).toBe('finished');
    expect(decode.admitTenant([-2, 7])).toEqual({ kind: 'over-quota', live: 7 });
  });

  it('an unknown code throws instead of passing for an outcome', () => {
    expect(() => decode.commitStep(-9)).toThrow(/commitStep replied -9/);
    expect(() => decode.claimJob([7])).toThrow(/claimJob/);
    expect(() => decode.finishJob(-2)).toThrow(/finishJob/);
  });

  it.each([
    ['admitTenant', [1], { kind: 'admitted' }],
    ['admitTenant', [-1, 250], { kind: 'rate-limited', retryAfterMs: 250 }],
    ['admitRun', [1], { kind: 'created' }],
    ['admitRun', [0], { kind: 'existed' }],
    ['admitRun', [-1, 250], { kind: 'rate-limited', retryAfterMs: 250 }],
    ['admitRun', [-2, 7], { kind: 'over-quota', live: 7 }],
    ['createRun', 1, { kind: 'created' }],
    ['createRun', 0, { kind: 'existed' }],
    ['countDescendant', 1, { kind: 'counted' }],
    ['countDescendant', -1, { kind: 'tree-full' }],
    ['claimJob', [-1], { kind: 'missing' }],
    ['claimJob', [-3], { kind: 'stale' }],
    ['claimJob', [-4], { kind: 'lease-held' }],
    ['claimJob', [-5], { kind: 'gated' }],
    [
      'claimJob',
      [1, '3', ['a', 'succeeded', '{}'], [null], '', '1000', '0'],
      {
        kind: 'claimed',
        fence: '3',
        needs: ['a', 'succeeded', '{}'],
        stepRecords: [null],
        resolved: '',
        timeoutFrom: 1000,
        started: '0',
      },
    ],
    [
      'claimJob',
      [1, '1', [], [], '{"ok":1}', '1000', '', 'spec', '{}', 'trig', 'wf', '{}'],
      {
        kind: 'claimed',
        fence: '1',
        needs: [],
        stepRecords: [],
        resolved: '{"ok":1}',
        timeoutFrom: 1000,
        started: '',
        constants: { spec: 'spec', inputs: '{}', trigger: 'trig', workflow: 'wf', env: '{}' },
      },
    ],
    ['commitStep', 1, { kind: 'ok' }],
    ['commitStep', -1, { kind: 'stale' }],
    ['renewLease', 1, { kind: 'ok' }],
    ['renewLease', -1, { kind: 'stale' }],
    ['renewLease', -2, { kind: 'cancelling' }],
    ['finishJob', -1, { kind: 'stale' }],
    ['finishJob', ['', ''], { kind: 'finished', runStatus: '', ready: [] }],
    [
      'finishJob',
      ['succeeded', 'run_p|1|0', 'b', 'tok', 'high'],
      {
        kind: 'finished',
        runStatus: 'succeeded',
        ended: { parentRunId: 'run_p', hasMemberships: true, cancelRequested: false },
        ready: [{ jobKey: 'b', attempt: 1, token: 'tok', priority: 'high' }],
      },
    ],
    ['retryJob', -1, { kind: 'stale' }],
    ['retryJob', -2, { kind: 'cancelling' }],
    ['retryJob', [2, 'tok', ''], { kind: 'retrying', attempt: 2, token: 'tok', priority: '' }],
    ['requeueJob', -1, { kind: 'stale' }],
    ['requeueJob', ['tok', 'low'], { kind: 'requeued', token: 'tok', priority: 'low' }],
    ['suspendJob', -1, { kind: 'stale' }],
    ['suspendJob', -2, { kind: 'cancelling' }],
    ['suspendJob', ['tok', '', 1], { kind: 'suspended', token: 'tok', priority: '', queued: true }],
    ['cancelRun', -1, { kind: 'missing' }],
    ['cancelRun', ['', 2], { kind: 'cancelling', runStatus: '', running: 2 }],
    ['resolveWait', [2], { kind: 'kept' }],
    ['resolveWait', -1, { kind: 'missing' }],
    ['resolveWait', -2, { kind: 'finished' }],
    ['resolveWait', -3, { kind: 'not-waiting' }],
    ['resolveWait', -4, { kind: 'full' }],
    [
      'resolveWait',
      [1, 'j', 1, 'tok', ''],
      { kind: 'woken', job: { jobKey: 'j', attempt: 1, token: 'tok', priority: '' } },
    ],
    ['wakeJob', [-1, 'running'], { kind: 'not-waiting', status: 'running' }],
    ['wakeJob', [2, 'tok', 'high'], { kind: 'woken', attempt: 2, token: 'tok', priority: 'high' }],
    [
      'ungateRun',
      ['a', '1', 'tok', ''],
      { kind: 'ungated', queued: [{ jobKey: 'a', attempt: 1, token: 'tok', priority: '' }] },
    ],
    ['acquireSlot', [1], { kind: 'granted' }],
    [
      'acquireSlot',
      [0, 2, 2, 'x', 'y'],
      { kind: 'waiting', position: 2, holders: ['x', 'y'], ahead: [] },
    ],
    [
      'acquireSlot',
      [0, 3, 1, 'x', 'a', 'b'],
      { kind: 'waiting', position: 3, holders: ['x'], ahead: ['a', 'b'] },
    ],
    ['releaseSlot', ['m'], { kind: 'released', granted: ['m'] }],
    ['registerWorkflow', [3, 1], { kind: 'added', revision: 3 }],
    ['registerWorkflow', [3, 0], { kind: 'unchanged', revision: 3 }],
  ] as const)('%s %j → %j', (script, reply, outcome) => {
    expect((decode[script] as (r: unknown) => unknown)(reply)).toEqual(outcome);
  });
});
