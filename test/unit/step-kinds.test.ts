import { describe, expect, it } from 'vitest';
import { isWaitKind } from '../../lib/engine/decide/waits.js';
import { loadSpec } from '../../lib/spec/index.js';
import { PermissionsSchema } from '../../lib/spec/schema.js';
import { specWarnings } from '../../lib/spec/warnings.js';
import {
  CAPABILITIES,
  parseUses,
  SIGNAL_NAME,
  STEP_KINDS,
  SUPPORTED_USES,
  type UsesKind,
  withProblems,
} from '../../lib/steps/kinds.js';

const KINDS = Object.keys(STEP_KINDS) as UsesKind[];

describe('parseUses, from the step-kind table', () => {
  it.each<[string, { kind: UsesKind; name?: string }]>([
    ['http', { kind: 'http' }],
    ['shell', { kind: 'shell' }],
    ['builtin:shell', { kind: 'shell' }],
    ['sleep', { kind: 'sleep' }],
    ['approval', { kind: 'approval' }],
    ['builtin:approval', { kind: 'approval' }],
    ['signal', { kind: 'signal' }],
    ['action:echo', { kind: 'action', name: 'echo' }],
    ['workflow:smoke-tests', { kind: 'workflow', name: 'smoke-tests' }],
    ['lambda:billing-charge:live', { kind: 'lambda', name: 'billing-charge:live' }],
  ])('%s → %j', (uses, ref) => {
    expect(parseUses(uses)).toEqual(ref);
  });

  it.each<[string, RegExp]>([
    ['curl', /^unknown step kind "curl"; supported kinds: http, shell \(alias builtin:shell\)/],
    ['plugin:@kb/x', /plugin steps are not supported/],
    ['action:', /needs a name after the colon, e\.g\. action:<name>/],
    ['workflow:9lives', /invalid workflow name "9lives"/],
    [`action:${'a'.repeat(65)}`, /invalid action name/],
  ])('%s → %s', (uses, message) => {
    expect(parseUses(uses)).toMatch(message);
  });

  it('names every kind in SUPPORTED_USES', () => {
    expect(SUPPORTED_USES).toBe(
      'http, shell (alias builtin:shell), sleep, approval (alias builtin:approval), signal, ' +
        'action:<name>, workflow:<name>, lambda:<function>',
    );
  });
});

describe('the step-kind table', () => {
  it('leaves to the engine exactly the kinds it runs itself: waits and child runs', () => {
    const byEngine = KINDS.filter((k) => STEP_KINDS[k].runBy === 'engine');
    expect(byEngine).toEqual(KINDS.filter((k) => isWaitKind(k) || k === 'workflow'));
  });

  it('asks only for capabilities a workflow can be granted', () => {
    for (const kind of KINDS) {
      const { capability } = STEP_KINDS[kind] as { capability?: string };
      if (capability !== undefined) expect(CAPABILITIES).toContain(capability);
    }
  });

  it('is what permissions.capabilities accepts', () => {
    expect(PermissionsSchema.safeParse({ capabilities: [...CAPABILITIES] }).success).toBe(true);
    const wrong = PermissionsSchema.safeParse({ capabilities: ['root'] });
    expect(wrong.success).toBe(false);
  });

  it.each(['approve', 'deploy.done', 'ns:evt-1', 'A'.repeat(128)])(
    'signal name %s is valid',
    (n) => {
      expect(SIGNAL_NAME.test(n)).toBe(true);
    },
  );

  it.each(['', 'a b', 'a/b', 'A'.repeat(129)])('signal name %j is not', (n) => {
    expect(SIGNAL_NAME.test(n)).toBe(false);
  });
});

describe('withProblems', () => {
  it.each<[UsesKind, Record<string, unknown> | undefined, { key: string; message: RegExp }[]]>([
    ['http', { url: 'https://x.test/', method: 'POST', body: { a: 1 } }, []],
    ['http', undefined, [{ key: 'url', message: /^http steps need with\.url$/ }]],
    [
      'http',
      { url: 'https://x.test/', urll: 1 },
      [{ key: 'urll', message: /^unknown key "urll"; did you mean "url"\? \(allowed: url, / }],
    ],
    [
      'http',
      { url: 'https://x.test/', expectStatus: '200' },
      [{ key: 'expectStatus', message: /must be number or array, got string$/ }],
    ],
    // An expression is only known at run time.
    ['sleep', { seconds: '${{ inputs.wait }}' }, []],
    ['sleep', { seconds: 'ten' }, [{ key: 'seconds', message: /must be number, got string/ }]],
    ['signal', { name: 'go' }, []],
    ['signal', { name: 'no spaces' }, [{ key: 'name', message: /must match/ }]],
    ['signal', { name: '${{ inputs.signal }}' }, []],
    ['approval', { timeoutSeconds: 60, approvers: ['a'], message: 'ship?' }, []],
    ['workflow', { inputs: { a: 1 }, wait: 'yes' }, [{ key: 'wait', message: /boolean/ }]],
    ['lambda', { payload: 'anything' }, []],
    // An action takes any `with`.
    ['action', { whatever: [1] }, []],
  ])('%s with %j', (kind, w, expected) => {
    const got = withProblems(kind, w);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(got[i]?.key).toBe(e.key);
      expect(got[i]?.message).toMatch(e.message);
    });
  });
});

describe('step with at registration', () => {
  const spec = (step: string) =>
    loadSpec({
      format: 'yaml',
      text: `name: w\non: { manual: true }\njobs: { j: { steps: [${step}] } }\n`,
    });

  it('registers a misspelt argument, with a warning at its path that suggests the right one', () => {
    const s = spec('{ uses: shell, with: { comand: make } }');
    expect(specWarnings(s)).toEqual([
      {
        path: 'jobs.j.steps[0].with.comand',
        message: 'unknown key "comand"; did you mean "command"? (allowed: command, cwd)',
      },
    ]);
  });

  it('says a required argument is missing when nothing looks like it', () => {
    const s = spec('{ uses: http, with: { method: POST } }');
    expect(specWarnings(s)).toEqual([
      { path: 'jobs.j.steps[0].with.url', message: 'http steps need with.url' },
    ]);
  });

  it('checks KB Labs argument names under their flowline names', () => {
    const s = spec('{ uses: builtin:shell, with: { run: make } }');
    expect(specWarnings(s)).toEqual([]);
  });
});
