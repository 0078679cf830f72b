import { describe, expect, it } from 'vitest';
import {
  decideWait,
  resolutionFor,
  type Suspension,
  type WaitInput,
  type Wakeup,
  wakeup,
} from '../../../lib/engine/decide/waits.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const input = (p: Partial<WaitInput> & Pick<WaitInput, 'kind'>): WaitInput => ({
  stepKey: 'gate',
  with: {},
  recorded: undefined,
  resolution: undefined,
  now: NOW,
  ...p,
});

describe('decideWait: sleep', () => {
  it.each([
    {
      case: 'seconds: suspends until then',
      in: { with: { seconds: 60 } },
      out: {
        kind: 'suspend',
        suspension: {
          waitingFor: { kind: 'sleep', until: iso(NOW + 60_000) },
          wakeAt: NOW + 60_000,
        },
        wait: { until: NOW + 60_000 },
      },
    },
    {
      case: 'until, an ISO time',
      in: { with: { until: iso(NOW + 5000) } },
      out: {
        kind: 'suspend',
        suspension: { waitingFor: { kind: 'sleep', until: iso(NOW + 5000) }, wakeAt: NOW + 5000 },
        wait: { until: NOW + 5000 },
      },
    },
    {
      case: 'seconds: 0 is over at once',
      in: { with: { seconds: 0 } },
      out: { kind: 'done', outputs: { wokeAt: iso(NOW) } },
    },
    {
      case: 'until in the past',
      in: { with: { until: iso(NOW - 1) } },
      out: { kind: 'done', outputs: { wokeAt: iso(NOW) } },
    },
    {
      case: 'the recorded end wins over `with` (a later claim)',
      in: { with: { seconds: 3600 }, recorded: { until: NOW - 1 } },
      out: { kind: 'done', outputs: { wokeAt: iso(NOW) } },
    },
    {
      case: 'negative seconds',
      in: { with: { seconds: -1 } },
      out: { kind: 'fail', error: { code: 'VALIDATION' } },
    },
    {
      case: 'no seconds nor until',
      in: { with: {} },
      out: { kind: 'fail', error: { code: 'VALIDATION' } },
    },
    {
      case: 'until not a time',
      in: { with: { until: 'soon' } },
      out: { kind: 'fail', error: { code: 'VALIDATION' } },
    },
  ])('$case', ({ in: p, out }) => {
    expect(decideWait(input({ kind: 'sleep', ...p }))).toMatchObject(out);
  });
});

describe('decideWait: approval', () => {
  it.each([
    {
      case: 'no decision yet: suspends, asking for one',
      in: { with: { approvers: ['ann'] } },
      out: {
        kind: 'suspend',
        suspension: {
          waitingFor: { kind: 'approval', step: 'gate', approvers: ['ann'] },
          event: 'approval.requested',
        },
        wait: { until: undefined },
      },
    },
    {
      case: 'timeoutSeconds: woken at the deadline',
      in: { with: { timeoutSeconds: 10 } },
      out: {
        kind: 'suspend',
        suspension: { waitingFor: { until: iso(NOW + 10_000) }, wakeAt: NOW + 10_000 },
        wait: { until: NOW + 10_000 },
      },
    },
    {
      case: 'approved',
      in: { resolution: { approved: true, actor: 'ann', comment: 'ok' } },
      out: {
        kind: 'done',
        outputs: {
          approved: true,
          actor: 'ann',
          comment: 'ok',
          approvedBy: 'ann',
          approvedAt: iso(NOW),
        },
      },
    },
    {
      case: 'rejected',
      in: { resolution: { approved: false, actor: 'bob' } },
      out: { kind: 'fail', error: { code: 'APPROVAL_REJECTED', message: 'rejected by bob' } },
    },
    {
      case: 'the recorded deadline passed',
      in: { with: { timeoutSeconds: 10 }, recorded: { until: NOW } },
      out: { kind: 'fail', error: { code: 'APPROVAL_TIMEOUT' } },
    },
    {
      case: 'approvers not a list',
      in: { with: { approvers: 'ann' } },
      out: { kind: 'fail', error: { code: 'VALIDATION' } },
    },
    {
      case: 'timeoutSeconds 0',
      in: { with: { timeoutSeconds: 0 } },
      out: { kind: 'fail', error: { code: 'VALIDATION' } },
    },
  ])('$case', ({ in: p, out }) => {
    expect(decideWait(input({ kind: 'approval', ...p }))).toMatchObject(out);
  });
});

describe('decideWait: signal', () => {
  it.each([
    {
      case: 'not sent yet: suspends on its name',
      in: { with: { name: 'deploy.done' } },
      out: {
        kind: 'suspend',
        suspension: { waitingFor: { kind: 'signal', name: 'deploy.done' }, signal: 'deploy.done' },
      },
    },
    {
      case: 'sent: its payload',
      in: { with: { name: 'go' }, resolution: { payload: { n: 1 } } },
      out: { kind: 'done', outputs: { payload: { n: 1 } } },
    },
    {
      case: 'sent without a payload',
      in: { with: { name: 'go' }, resolution: {} },
      out: { kind: 'done', outputs: { payload: null } },
    },
    {
      case: 'the recorded deadline passed',
      in: { with: { name: 'go', timeoutSeconds: 1 }, recorded: { until: NOW - 1 } },
      out: { kind: 'fail', error: { code: 'TIMEOUT', message: "no signal 'go' in time" } },
    },
    {
      case: 'a name with a space',
      in: { with: { name: 'a b' } },
      out: { kind: 'fail', error: { code: 'VALIDATION' } },
    },
    { case: 'no name', in: { with: {} }, out: { kind: 'fail', error: { code: 'VALIDATION' } } },
  ])('$case', ({ in: p, out }) => {
    expect(decideWait(input({ kind: 'signal', ...p }))).toMatchObject(out);
  });
});

describe('resolutionFor: what a woken wait was resolved with', () => {
  it.each([
    { case: 'none', raw: '', index: 2, out: undefined },
    {
      case: 'for this step',
      raw: '{"step":2,"approved":true}',
      index: 2,
      out: { step: 2, approved: true },
    },
    { case: 'for another step', raw: '{"step":1,"approved":true}', index: 2, out: undefined },
    {
      case: 'for the step waiting now (a signal)',
      raw: '{"payload":1}',
      index: 2,
      out: { payload: 1 },
    },
  ])('$case → $out', ({ raw, index, out }) => {
    expect(resolutionFor(raw, index)).toEqual(out);
  });
});

describe('wakeup: how a suspended job is woken', () => {
  it.each<{ case: string; s: Suspension; queued: boolean; out: Wakeup }>([
    {
      case: 'resolved already: sent now',
      s: { waitingFor: { kind: 'signal', name: 'go' }, wakeAt: 5 },
      queued: true,
      out: { sendNow: true },
    },
    {
      case: 'a sleep: its timer',
      s: { waitingFor: { kind: 'sleep', until: 'x' }, wakeAt: 5 },
      queued: false,
      out: { sendNow: false, at: 5 },
    },
    {
      case: 'an approval without a timeout: its decision only',
      s: { waitingFor: { kind: 'approval', step: 'ok' } },
      queued: false,
      out: { sendNow: false },
    },
    {
      case: 'a child run: ended before the suspension?',
      s: { waitingFor: { kind: 'workflow', workflow: 'child', runId: 'r2' } },
      queued: false,
      out: { sendNow: false, childRunId: 'r2' },
    },
    {
      case: 'a concurrency slot: freed before the suspension?',
      s: { waitingFor: { kind: 'concurrency', group: 'g', heldBy: [], position: null } },
      queued: false,
      out: { sendNow: false, slotGroup: 'g' },
    },
  ])('$case', ({ s, queued, out }) => {
    expect(wakeup(s, queued)).toEqual(out);
  });
});
