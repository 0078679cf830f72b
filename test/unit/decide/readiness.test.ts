import { describe, expect, it } from 'vitest';
import { initialJobFields, planRun } from '../../../lib/engine/decide/plan.js';
import { loadSpec } from '../../../lib/spec/index.js';

const plan = (jobs: string) =>
  planRun(loadSpec({ text: `name: r\non: { manual: true }\njobs:\n${jobs}`, format: 'yaml' }));

const noop = 'steps: [{ uses: action:noop }]';

/** What a new run's jobs hash says of readiness: queued, held, how many needs each waits for. */
function readiness(jobs: string, reused: Record<string, string> = {}) {
  const { fields, queued, pending } = initialJobFields(
    plan(jobs),
    1,
    new Map(Object.entries(reused)),
  );
  const of = (prefix: string) =>
    Object.fromEntries(
      Object.entries(fields)
        .filter(([f]) => f.startsWith(prefix))
        .map(([f, v]) => [f.slice(prefix.length), v]),
    );
  return {
    queued,
    pending,
    status: of('status:'),
    waiting: of('waiting:'),
    held: Object.keys(of('held:')),
  };
}

describe('readiness at creation (initialJobFields)', () => {
  it.each([
    [
      'independent jobs all start',
      `  a: { ${noop} }\n  b: { ${noop} }`,
      {},
      { queued: ['a', 'b'], pending: 2, waiting: { a: '0', b: '0' }, held: [] },
    ],
    [
      'a chain starts at its head',
      `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: b, ${noop} }`,
      {},
      { queued: ['a'], pending: 3, waiting: { a: '0', b: '1', c: '1' }, held: [] },
    ],
    [
      'a diamond waits for both branches',
      `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: a, ${noop} }\n  d: { needs: [b, c], ${noop} }`,
      {},
      { queued: ['a'], pending: 4, waiting: { a: '0', b: '1', c: '1', d: '2' }, held: [] },
    ],
    [
      'a matrix over maxParallel holds the rest',
      `  m: { strategy: { matrix: { k: [1, 2, 3] }, maxParallel: 2 }, ${noop} }`,
      {},
      {
        queued: ['m[k=1]', 'm[k=2]'],
        pending: 3,
        waiting: { 'm[k=1]': '0', 'm[k=2]': '0', 'm[k=3]': '0' },
        held: ['m[k=3]'],
      },
    ],
    [
      'a rerun: a reused job neither counts as pending nor blocks its dependents',
      `  a: { ${noop} }\n  b: { needs: a, ${noop} }\n  c: { needs: [a, b], ${noop} }`,
      { a: '{"x":1}' },
      { queued: ['b'], pending: 2, waiting: { a: '0', b: '0', c: '1' }, held: [] },
    ],
  ])('%s', (_name, jobs, reused, expected) => {
    const got = readiness(jobs, reused);
    expect({
      queued: got.queued,
      pending: got.pending,
      waiting: got.waiting,
      held: got.held,
    }).toEqual(expected);
    // Queued exactly the jobs said ready; reused ones are written succeeded, the rest pending.
    for (const [key, status] of Object.entries(got.status)) {
      const want =
        key in reused ? 'succeeded' : expected.queued.includes(key) ? 'queued' : 'pending';
      expect([key, status]).toEqual([key, want]);
    }
  });

  it('refuses to reuse a job whose need runs again', () => {
    expect(() => readiness(`  a: { ${noop} }\n  b: { needs: a, ${noop} }`, { b: '{}' })).toThrow(
      /cannot be reused: it needs a/,
    );
  });
});
