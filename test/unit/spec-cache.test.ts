import { describe, expect, it } from 'vitest';
import { parsedSpec } from '../../lib/engine/job/spec-cache.js';

const spec = (name: string) =>
  JSON.stringify({
    name,
    on: { api: true },
    jobs: {
      a: { needs: [], steps: [{ uses: 'action:noop' }] },
      b: { needs: ['a'], steps: [{ uses: 'action:noop' }] },
    },
  });

describe('parsedSpec: a run spec parsed and planned once per process', () => {
  it('returns the same parsed spec and plan for the same JSON, another for other JSON', () => {
    const first = parsedSpec(spec('one'));
    expect(first.spec.name).toBe('one');
    expect(first.plan.map((p) => p.key)).toEqual(['a', 'b']);
    // A different string object with the same text: still a hit.
    expect(parsedSpec(`${spec('one')}`)).toBe(first);
    const other = parsedSpec(spec('two'));
    expect(other).not.toBe(first);
    expect(other.spec.name).toBe('two');
  });

  it('is frozen: a job that changed the shared spec or plan would throw', () => {
    const { spec: s, plan } = parsedSpec(spec('frozen'));
    expect(() => {
      (s.jobs.a as { needs: string[] }).needs.push('x');
    }).toThrow(TypeError);
    expect(() => {
      (plan[0] as { key: string }).key = 'z';
    }).toThrow(TypeError);
  });

  it('keeps at most 32 specs: the least recently used one is parsed again', () => {
    const kept = parsedSpec(spec('kept'));
    const evicted = parsedSpec(spec('evicted'));
    for (let i = 0; i < 31; i++) {
      parsedSpec(spec(`filler${i}`));
      // Used again each round, so it stays among the 32 most recent.
      expect(parsedSpec(spec('kept'))).toBe(kept);
    }
    expect(parsedSpec(spec('kept'))).toBe(kept);
    expect(parsedSpec(spec('evicted'))).not.toBe(evicted);
  });
});
