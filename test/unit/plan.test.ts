import { describe, expect, it } from 'vitest';
import { needsContext, statusFromNeeds } from '../../lib/engine/decide/job-context.js';
import { firstStep, initialJobFields, planRun, stepList } from '../../lib/engine/decide/plan.js';
import { loadSpec } from '../../lib/spec/index.js';

const spec = (jobs: string) =>
  loadSpec({
    text: `name: p\non: { manual: true }\ninputs: { x: { type: string } }\njobs:\n${jobs}`,
    format: 'yaml',
  });

describe('planRun', () => {
  it('wires needs and dependents both ways', () => {
    const plan = planRun(
      spec(`
  a: { steps: [{ uses: action:noop }] }
  b: { needs: a, steps: [{ uses: action:noop }] }
  c: { needs: [a, b], steps: [{ uses: action:noop }] }
`),
    );
    expect(plan.map((p) => [p.key, p.needs, p.dependents])).toEqual([
      ['a', [], ['b', 'c']],
      ['b', ['a'], ['c']],
      ['c', ['a', 'b'], []],
    ]);
  });

  it('expands a matrix into instances that dependents all need', () => {
    const plan = planRun(
      spec(`
  t: { strategy: { matrix: { os: [linux, mac], n: [1, 2] } }, steps: [{ uses: action:noop }] }
  after: { needs: t, steps: [{ uses: action:noop }] }
`),
    );
    const keys = ['t[os=linux,n=1]', 't[os=linux,n=2]', 't[os=mac,n=1]', 't[os=mac,n=2]'];
    expect(plan.map((p) => p.key)).toEqual([...keys, 'after']);
    expect(plan.at(-1)?.needs).toEqual(keys);
    expect(plan[0]?.matrix).toEqual({ os: 'linux', n: 1 });
  });

  it.each([
    [undefined, 'success'],
    ['${{ inputs.x }}', 'success'],
    ['always()', 'custom'],
    ["${{ failure() || inputs.x == 'y' }}", 'custom'],
    ['cancelled()', 'custom'],
  ])('gives if %s the %s gate', (cond, gate) => {
    const line = cond === undefined ? '' : `if: "${cond}", `;
    expect(planRun(spec(`  a: { ${line}steps: [{ uses: action:noop }] }\n`))[0]?.gate).toBe(gate);
  });

  it('numbers the first jobs 1..n and leaves the rest pending', () => {
    const { fields, queued } = initialJobFields(
      planRun(
        spec(`
  a: { steps: [{ uses: action:noop }] }
  b: { steps: [{ uses: action:noop }] }
  c: { needs: [a, b], steps: [{ uses: action:noop }] }
`),
      ),
      1234,
    );
    expect(queued).toEqual(['a', 'b']);
    expect([fields['queuedAt:a'], fields['queuedAt:c']]).toEqual(['1234', undefined]);
    expect([fields['token:a'], fields['token:b'], fields['status:c'], fields['waiting:c']]).toEqual(
      ['1', '2', 'pending', '2'],
    );
  });
});

describe('stepList', () => {
  it('orders hooks pre → steps → onSuccess → onFailure → post with stable keys', () => {
    const [job] = Object.values(
      spec(`
  a:
    hooks:
      pre: [{ uses: action:noop }]
      post: [{ uses: action:noop }]
      onFailure: [{ uses: action:noop }]
      onSuccess: [{ id: yay, uses: action:noop }]
    steps: [{ uses: action:noop }, { id: main, uses: action:noop }]
`).jobs,
    );
    if (!job) throw new Error('no job');
    expect(stepList(job).map((s) => [s.index, s.key, s.hook])).toEqual([
      [0, 'pre0', 'pre'],
      [1, 's0', undefined],
      [2, 'main', undefined],
      [3, 'yay', 'onSuccess'],
      [4, 'onFailure0', 'onFailure'],
      [5, 'post0', 'post'],
    ]);
  });
});

describe('firstStep (the step a claim starts itself)', () => {
  it.each([
    ['a plain first step', '{ steps: [{ id: s, uses: action:noop }] }', 's'],
    [
      'one without an id, by its key',
      '{ steps: [{ uses: action:noop }, { uses: action:noop }] }',
      's0',
    ],
    [
      'none: the step has an if',
      '{ steps: [{ if: "${{ true }}", uses: action:noop }] }',
      undefined,
    ],
    ['none: the job has an if', '{ if: "${{ true }}", steps: [{ uses: action:noop }] }', undefined],
    [
      'none: the job takes a concurrency slot',
      '{ concurrency: { group: g }, steps: [{ uses: action:noop }] }',
      undefined,
    ],
    [
      'none: a pre hook comes first',
      '{ hooks: { pre: [{ uses: action:noop }] }, steps: [{ uses: action:noop }] }',
      undefined,
    ],
    ['none: a sleep waits', '{ steps: [{ uses: sleep, with: { ms: 10 } }] }', undefined],
    ['none: an approval waits', '{ steps: [{ uses: approval }] }', undefined],
    ['none: a child workflow', '{ steps: [{ uses: "workflow:other" }] }', undefined],
  ])('%s', (_, job, expected) => {
    const workflow = spec(`  j: ${job}\n`);
    expect(firstStep(workflow.jobs.j as never)).toBe(expected);
    const { fields } = initialJobFields(planRun(workflow), 0);
    expect(fields['first:j']).toBe(expected);
  });
});

describe('needs context', () => {
  const plan = planRun(
    spec(`
  m: { strategy: { matrix: { k: [x, y] } }, steps: [{ uses: action:noop }] }
  s: { steps: [{ uses: action:noop }] }
  d: { needs: [m, s], steps: [{ uses: action:noop }] }
`),
  );
  const state = (
    status: string,
    outputs: Record<string, unknown> = {},
    continueOnError = false,
  ) => ({
    status,
    outputs,
    continueOnError,
  });

  it('lists matrix outputs in matrix order and folds results', () => {
    const states = new Map([
      ['m[k=x]', state('succeeded', { v: 1 })],
      ['m[k=y]', state('failed', { v: 2 })],
      ['s', state('succeeded', { w: 'z' })],
    ]);
    expect(needsContext(plan, ['m[k=x]', 'm[k=y]', 's'], states)).toEqual({
      m: { outputs: { v: [1, 2] }, result: 'failure' },
      s: { outputs: { w: 'z' }, result: 'success' },
    });
  });

  it.each([
    [[state('succeeded'), state('succeeded')], 'success'],
    [[state('succeeded'), state('failed')], 'failure'],
    [[state('failed', {}, true)], 'success'],
    [[state('failed'), state('cancelled')], 'cancelled'],
  ])('status of needs %j is %s', (states, expected) => {
    expect(statusFromNeeds(states)).toBe(expected);
  });
});
