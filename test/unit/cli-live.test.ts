import { describe, expect, it } from 'vitest';
import type { EventDoc, WaitingFor } from '../../lib/api/documents.js';
import { applyEvent, eventLine, renderTree, viewOf, waitReason } from '../../lib/cli/live.js';
import { closest, editDistance } from '../../lib/suggest.js';
import { jobDoc, runDoc, stepDoc } from '../support/documents.js';

const at = (sec: number) => new Date(2024, 0, 1, 12, 0, sec).toISOString();
let n = 0;
const event = (sec: number, type: string, job?: string, step?: string, data = {}): EventDoc => ({
  id: `1-${++n}`,
  at: at(sec),
  type,
  ...(job ? { job } : {}),
  ...(step ? { step } : {}),
  data,
});

const startDoc = () =>
  runDoc('queued', {
    workflow: 'ship',
    jobs: {
      build: jobDoc('pending', { steps: [stepDoc('compile', 'pending')] }),
      ship: jobDoc('pending', { steps: [stepDoc('gate', 'pending')] }),
    },
  });

describe('the live view of a run', () => {
  it('follows events into a tree with durations, the waiting reason and the approve command', () => {
    const view = viewOf(startDoc());
    for (const e of [
      event(0, 'run.started'),
      event(0, 'job.started', 'build', undefined, { attempt: 1 }),
      event(0, 'step.started', 'build', 'compile'),
      event(1, 'step.retrying', 'build', 'compile', { try: 1 }),
      event(3, 'step.succeeded', 'build', 'compile'),
      event(3, 'job.succeeded', 'build'),
      event(4, 'job.started', 'ship', undefined, { attempt: 1 }),
      event(4, 'step.started', 'ship', 'gate'),
      event(4, 'job.waiting', 'ship', undefined, { kind: 'approval', step: 'gate' }),
    ]) {
      applyEvent(view, e);
    }
    expect(renderTree(view, Date.parse(at(10))).split('\n')).toEqual([
      'run run_1 ship  running  10.0s',
      '  ✔ build  succeeded  3.0s',
      '      ✔ compile  succeeded (try 2)  3.0s',
      '  ⏸ ship   waiting    for approval of step gate',
      '      ⏸ gate  waiting  6.0s',
      '[██████████░░░░░░░░░░] 1/2 jobs done · 1 waiting  → flowline approve run_1 gate   (or --reject)',
    ]);
  });

  it('adds jobs it did not know (matrix instances) and keeps a job its first start', () => {
    const view = viewOf(runDoc('running'));
    const started = event(1, 'job.started', 'test[os=linux]', undefined, { attempt: 1 });
    applyEvent(view, started);
    applyEvent(
      view,
      event(2, 'job.waiting', 'test[os=linux]', undefined, { kind: 'sleep', until: 'x' }),
    );
    applyEvent(view, event(5, 'job.started', 'test[os=linux]', undefined, { attempt: 1 }));
    const done = event(6, 'job.succeeded', 'test[os=linux]');
    applyEvent(view, done);
    expect(eventLine(view, done)).toBe('12:00:06 job test[os=linux] succeeded in 5.0s');
  });

  it.each<[WaitingFor, string]>([
    [
      { kind: 'approval', step: 'gate', approvers: ['a', 'b'] },
      'for approval of step gate from a or b',
    ],
    [{ kind: 'signal', name: 'go' }, 'for signal go'],
    [{ kind: 'sleep', until: '2024-01-01T00:00:00Z' }, 'until 2024-01-01T00:00:00Z (sleep)'],
    [
      { kind: 'concurrency', group: 'prod', heldBy: ['run_9'], position: 1 },
      'for a slot of concurrency group prod held by run_9',
    ],
    [{ kind: 'workflow', workflow: 'child', runId: 'run_2' }, 'for child run run_2'],
  ])('says why a job waits: %j', (w, words) => {
    expect(waitReason(w)).toBe(words);
  });
});

describe('did you mean', () => {
  it('measures edits', () => {
    expect(editDistance('wacth', 'watch')).toBe(2);
    expect(editDistance('watch', 'watch')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the nearest command within a small distance only', () => {
    const commands = ['watch', 'workflows', 'events', 'logs', 'list', 'get'];
    expect(closest('wacth', commands)).toBe('watch');
    expect(closest('LOGS', commands)).toBe('logs');
    expect(closest('gte', commands)).toBeUndefined();
    expect(closest('deploy', commands)).toBeUndefined();
  });
});
