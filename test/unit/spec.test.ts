import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registerAction } from '../../lib/actions/registry.js';
import { type FieldProblem, ValidationError } from '../../lib/errors.js';
import {
  expandMatrix,
  formatPath,
  LIMITS,
  loadSpec,
  matrixJobKey,
  parsePath,
  parseUses,
  type SpecInput,
  specDigest,
  stepId,
  type Workflow,
} from '../../lib/spec/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (...parts: string[]) => readFileSync(join(root, ...parts), 'utf8');

type Raw = Record<string, unknown>;

/** A minimal valid spec as a plain value; `patch` edits a copy. */
function specValue(patch: (s: Raw & { jobs: Record<string, Raw> }) => void = () => {}): Raw {
  const s = {
    name: 'wf',
    on: { manual: true },
    jobs: {
      build: { steps: [{ id: 'one', uses: 'action:echo', with: { message: 'hi' } }] },
    },
  } as Raw & { jobs: Record<string, Raw> };
  patch(s);
  return s;
}

function job(s: { jobs: Record<string, Raw> }, name = 'build'): Raw & { steps: Raw[] } {
  return s.jobs[name] as Raw & { steps: Raw[] };
}

function problemsOf(input: SpecInput): FieldProblem[] {
  try {
    loadSpec(input);
  } catch (err) {
    if (err instanceof ValidationError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be rejected');
}

const yaml = (text: string): SpecInput => ({ text, format: 'yaml' });

describe('loadSpec: valid specs', () => {
  it('loads the example of SPEC.md and normalises its shapes', () => {
    // Its test job runs `action:run-tests`, an action a deployment registers.
    const unregister = registerAction('run-tests', () => ({}));
    let spec: ReturnType<typeof loadSpec>;
    try {
      spec = loadSpec(yaml(read('test', 'fixtures', 'specs', 'spec-example.yml')));
    } finally {
      unregister();
    }

    expect(spec.name).toBe('release');
    expect(spec.version).toBe('1.2.0');
    expect(Object.keys(spec.jobs)).toEqual(['build', 'test', 'approve', 'deploy']);
    expect(spec.jobs.build?.needs).toEqual([]);
    expect(spec.jobs.test?.needs).toEqual(['build']);
    expect(spec.jobs.build?.priority).toBe('normal');
    expect(spec.jobs.deploy?.priority).toBe('high');
    expect(spec.jobs.deploy?.concurrency).toEqual({
      group: 'prod-deploy',
      limit: 1,
      cancelInProgress: true,
    });
    expect(spec.jobs.test?.retries).toEqual({
      max: 3,
      backoff: 'exp',
      initialIntervalMs: 1000,
      maxIntervalMs: 60000,
      jitter: false,
    });
    expect(spec.jobs.test?.strategy).toEqual({
      matrix: { shard: [1, 2, 3, 4] },
      maxParallel: 2,
      failFast: true,
    });
    expect(spec.jobs.deploy?.hooks?.pre?.[0]?.uses).toBe('action:echo');
    expect(spec.inputs?.dryRun).toEqual({ type: 'boolean', required: false, default: false });
    expect(spec.on.schedule).toEqual([{ cron: '*/5 * * * *', timezone: 'Europe/Berlin' }]);
  });

  it.each(['hello.yml', 'diamond.yml'])('loads examples/%s', (file) => {
    const spec = loadSpec(yaml(read('examples', file)));
    expect(spec.name).toBe(file.replace('.yml', ''));
  });

  it('loads the diamond as a → (b, c) → d with workflow outputs from d', () => {
    const spec = loadSpec(yaml(read('examples', 'diamond.yml')));
    expect(Object.fromEntries(Object.entries(spec.jobs).map(([n, j]) => [n, j.needs]))).toEqual({
      a: [],
      b: ['a'],
      c: ['a'],
      d: ['b', 'c'],
    });
    expect(spec.outputs).toEqual({ result: '${{ jobs.d.outputs.value }}' });
  });

  it('reads JSON text', () => {
    const spec = loadSpec({ text: JSON.stringify(specValue()), format: 'json' });
    expect(spec.jobs.build?.steps[0]?.uses).toBe('action:echo');
  });

  it.each<[string, SpecInput, string | undefined]>([
    [
      'YAML 1.0',
      yaml('name: wf\nversion: 1.0\non: {manual: true}\njobs: {a: {steps: [{uses: http}]}}'),
      '1.0',
    ],
    [
      'YAML 1.10',
      yaml('name: wf\nversion: 1.10\non: {manual: true}\njobs: {a: {steps: [{uses: http}]}}'),
      '1.10',
    ],
    [
      'YAML 2',
      yaml('name: wf\nversion: 2\non: {manual: true}\njobs: {a: {steps: [{uses: http}]}}'),
      '2',
    ],
    [
      'YAML "1.0"',
      yaml('name: wf\nversion: "1.0"\non: {manual: true}\njobs: {a: {steps: [{uses: http}]}}'),
      '1.0',
    ],
    [
      'JSON 1.0',
      {
        text: '{"name":"wf","version":1.0,"on":{"manual":true},"jobs":{"a":{"steps":[{"uses":"http"}]}}}',
        format: 'json',
      },
      '1.0',
    ],
    [
      'value 3',
      {
        value: specValue((s) => {
          s.version = 3;
        }),
      },
      '3',
    ],
    ['absent', { value: specValue() }, undefined],
  ])('keeps version %s as text', (_label, input, version) => {
    expect(loadSpec(input).version).toBe(version);
  });

  it('reads YAML with the 1.2 core schema: on is a key, yes is a string', () => {
    const problems = problemsOf(
      yaml('name: wf\non: {manual: yes}\njobs: {a: {steps: [{uses: http}]}}'),
    );
    expect(problems).toEqual([
      { path: 'on.manual', message: 'Invalid input: expected boolean, received string', line: 2 },
    ]);
  });

  it('normalises needs, if, env and the defaults the engine relies on', () => {
    const spec = loadSpec({
      value: specValue((s) => {
        s.jobs.test = {
          needs: 'build',
          if: true,
          env: { N: 1, B: false },
          steps: [{ uses: 'http' }, { uses: 'shell', if: 'success()' }],
        };
      }),
    });
    const test = spec.jobs.test;
    expect(test?.needs).toEqual(['build']);
    expect(test?.if).toBe('true');
    expect(test?.env).toEqual({ N: '1', B: 'false' });
    expect(test?.continueOnError).toBe(false);
    expect(test?.steps[0]?.continueOnError).toBe(false);
    expect(test?.steps[0]?.id).toBeUndefined();
    expect(stepId(test?.steps[0] ?? { id: undefined }, 0)).toBe('s0');
    expect(stepId({ id: undefined }, 1, 'onFailure')).toBe('onFailure1');
    expect(stepId({ id: 'push' }, 3)).toBe('push');
  });

  it('accepts runsOn (KB Labs) and every uses kind', () => {
    const kinds = [
      'http',
      'shell',
      'builtin:shell',
      'sleep',
      'approval',
      'builtin:approval',
      'signal',
      'workflow:child',
      'lambda:arn:aws:lambda:eu-west-1:123456789012:function:f:prod',
      'action:noop',
    ];
    const spec = loadSpec({
      value: specValue((s) => {
        job(s).runsOn = 'local';
        job(s).steps = kinds.map((uses) => ({ uses }));
      }),
    });
    expect(spec.jobs.build?.steps).toHaveLength(kinds.length);
  });
});

describe('loadSpec: schema problems', () => {
  // [what, patch, path, message pattern]
  it.each<[string, (s: Raw & { jobs: Record<string, Raw> }) => void, string, RegExp]>([
    [
      'bad name',
      (s) => {
        s.name = '1abc';
      },
      'name',
      /must match/,
    ],
    [
      'long name',
      (s) => {
        s.name = `a${'b'.repeat(64)}`;
      },
      'name',
      /must match/,
    ],
    [
      'missing name',
      (s) => {
        delete s.name;
      },
      'name',
      /^required$/,
    ],
    [
      'unknown top-level key',
      (s) => {
        s.trigger = {};
      },
      'trigger',
      /unknown key "trigger"/,
    ],
    [
      'no trigger',
      (s) => {
        s.on = { manual: false };
      },
      'on',
      /at least one trigger/,
    ],
    [
      'missing on',
      (s) => {
        delete s.on;
      },
      'on',
      /required/,
    ],
    [
      'webhook secret name',
      (s) => {
        s.on = { webhook: { secret: 'a-b' } };
      },
      'on.webhook.secret',
      /secret name/,
    ],
    [
      'cron fields',
      (s) => {
        s.on = { schedule: [{ cron: '* * *' }] };
      },
      'on.schedule[0].cron',
      /5 fields/,
    ],
    [
      'timezone',
      (s) => {
        s.on = { schedule: [{ cron: '0 * * * *', timezone: 'Mars/Base' }] };
      },
      'on.schedule[0].timezone',
      /IANA/,
    ],
    [
      'empty schedule',
      (s) => {
        s.on = { schedule: [] };
      },
      'on.schedule',
      /too small/i,
    ],
    [
      'input type',
      (s) => {
        s.inputs = { x: { type: 'date' } };
      },
      'inputs.x.type',
      /expected one of/,
    ],
    [
      'input default type',
      (s) => {
        s.inputs = { x: { type: 'number', default: 'a' } };
      },
      'inputs.x.default',
      /type number/,
    ],
    [
      'input default in enum',
      (s) => {
        s.inputs = { x: { enum: ['a', 'b'], default: 'c' } };
      },
      'inputs.x.default',
      /one of enum/,
    ],
    [
      'input name',
      (s) => {
        s.inputs = { 'a b': { type: 'string' } };
      },
      'inputs["a b"]',
      /invalid key "a b"/,
    ],
    [
      'env name',
      (s) => {
        s.env = { 'A.B': 'x' };
      },
      'env["A.B"]',
      /environment variable name/,
    ],
    [
      'env value',
      (s) => {
        s.env = { A: { x: 1 } };
      },
      'env.A',
      /strings, numbers or booleans/,
    ],
    [
      'secret name',
      (s) => {
        s.secrets = ['OK', 'not-ok'];
      },
      'secrets[1]',
      /secret name/,
    ],
    [
      'capability',
      (s) => {
        s.permissions = { capabilities: ['root'] };
      },
      'permissions.capabilities[0]',
      /expected one of/,
    ],
    [
      'host',
      (s) => {
        s.permissions = { hosts: ['https://x.com/'] };
      },
      'permissions.hosts[0]',
      /no scheme/,
    ],
    [
      'concurrency limit',
      (s) => {
        s.concurrency = { group: 'g', limit: 0 };
      },
      'concurrency.limit',
      /too small/i,
    ],
    [
      'concurrency group',
      (s) => {
        s.concurrency = { limit: 2 };
      },
      'concurrency.group',
      /required/,
    ],
    [
      'timeoutMs',
      (s) => {
        s.timeoutMs = 1.5;
      },
      'timeoutMs',
      /int/i,
    ],
    [
      'no jobs',
      (s) => {
        s.jobs = {};
      },
      'jobs',
      /at least one job/,
    ],
    [
      'job name',
      (s) => {
        s.jobs['9lives'] = job(s);
      },
      'jobs.9lives',
      /invalid key "9lives": job name must match/,
    ],
    [
      'unknown job key',
      (s) => {
        job(s).need = ['x'];
      },
      'jobs.build.need',
      /did you mean "needs"/,
    ],
    [
      'needs type',
      (s) => {
        job(s).needs = 3;
      },
      'jobs.build.needs',
      /job name or a list/,
    ],
    [
      'no steps',
      (s) => {
        job(s).steps = [];
      },
      'jobs.build.steps',
      /at least one step/,
    ],
    [
      'priority',
      (s) => {
        job(s).priority = 'urgent';
      },
      'jobs.build.priority',
      /expected one of/,
    ],
    [
      'retries backoff',
      (s) => {
        job(s).retries = { max: 1, backoff: 'quad' };
      },
      'jobs.build.retries.backoff',
      /expected one of/,
    ],
    [
      'retries max',
      (s) => {
        job(s).retries = { max: -1 };
      },
      'jobs.build.retries.max',
      /too small/i,
    ],
    [
      'retries interval',
      (s) => {
        job(s).retries = { max: 1, initialIntervalMs: 500, maxIntervalMs: 100 };
      },
      'jobs.build.retries.maxIntervalMs',
      /at least initialIntervalMs/,
    ],
    [
      'matrix value',
      (s) => {
        job(s).strategy = { matrix: { os: [{ a: 1 }] } };
      },
      'jobs.build.strategy.matrix.os[0]',
      /strings, numbers or booleans/,
    ],
    [
      'matrix empty axis',
      (s) => {
        job(s).strategy = { matrix: { os: [] } };
      },
      'jobs.build.strategy.matrix.os',
      /at least one value/,
    ],
    [
      'matrix not a list',
      (s) => {
        job(s).strategy = { matrix: { os: 'linux' } };
      },
      'jobs.build.strategy.matrix.os',
      /list of values/,
    ],
    [
      'maxParallel',
      (s) => {
        job(s).strategy = { matrix: { os: ['a'] }, maxParallel: 0 };
      },
      'jobs.build.strategy.maxParallel',
      /too small/i,
    ],
    [
      'hook name',
      (s) => {
        job(s).hooks = { always: [{ uses: 'http' }] };
      },
      'jobs.build.hooks.always',
      /unknown key "always"/,
    ],
    [
      'hook step',
      (s) => {
        job(s).hooks = { pre: [{ run: 'x' }] };
      },
      'jobs.build.hooks.pre[0].run',
      /unknown key "run"/,
    ],
    [
      'step id',
      (s) => {
        job(s).steps = [{ id: 'a.b', uses: 'http' }];
      },
      'jobs.build.steps[0].id',
      /step id must match/,
    ],
    [
      'step uses missing',
      (s) => {
        job(s).steps = [{ id: 'a' }];
      },
      'jobs.build.steps[0].uses',
      /^required$/,
    ],
    [
      'step unknown key',
      (s) => {
        job(s).steps = [{ uses: 'shell', run: 'ls' }];
      },
      'jobs.build.steps[0].run',
      /unknown key "run".*allowed: id, name, uses/,
    ],
    [
      'step with',
      (s) => {
        job(s).steps = [{ uses: 'http', with: 'x' }];
      },
      'jobs.build.steps[0].with',
      /expected record/,
    ],
    [
      'step continueOnError',
      (s) => {
        job(s).steps = [{ uses: 'http', continueOnError: 'yes' }];
      },
      'jobs.build.steps[0].continueOnError',
      /boolean/,
    ],
    [
      'unknown uses',
      (s) => {
        job(s).steps = [{ uses: 'docker://alpine' }];
      },
      'jobs.build.steps[0].uses',
      /unknown step kind.*supported kinds/,
    ],
    [
      'uses without name',
      (s) => {
        job(s).steps = [{ uses: 'workflow:' }];
      },
      'jobs.build.steps[0].uses',
      /needs a name/,
    ],
  ])('%s', (_what, patch, path, message) => {
    const problems = problemsOf({ value: specValue(patch) });
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('rejects plugin: steps naming the supported kinds', () => {
    const problems = problemsOf({
      value: specValue((s) => {
        job(s).steps = [{ uses: 'plugin:@kb-labs/release:run' }];
      }),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('jobs.build.steps[0].uses');
    for (const kind of [
      'http',
      'shell',
      'sleep',
      'approval',
      'signal',
      'action:<name>',
      'workflow:<name>',
      'lambda:<function>',
    ]) {
      expect(problems[0]?.message).toContain(kind);
    }
  });

  it.each([
    [
      'jobs',
      LIMITS.jobs + 1,
      (n: number) =>
        specValue((s) => {
          s.jobs = Object.fromEntries(
            Array.from({ length: n }, (_, i) => [`j${i}`, { steps: [{ uses: 'http' }] }]),
          );
        }),
      'jobs',
      /at most 200 jobs/,
    ],
    [
      'steps',
      LIMITS.stepsPerJob + 1,
      (n: number) =>
        specValue((s) => {
          job(s).steps = Array.from({ length: n }, () => ({ uses: 'http' }));
        }),
      'jobs.build.steps',
      /at most 100 steps/,
    ],
  ])('caps %s at the limit', (_what, n, make, path, message) => {
    expect(problemsOf({ value: make(n) })).toContainEqual({
      path,
      message: expect.stringMatching(message),
    });
    expect(() => loadSpec({ value: make(n - 1) })).not.toThrow();
  });
});

describe('loadSpec: static checks', () => {
  it.each<[string, (s: Raw & { jobs: Record<string, Raw> }) => void, string, RegExp]>([
    [
      'unknown need',
      (s) => {
        job(s).needs = ['nope'];
      },
      'jobs.build.needs[0]',
      /unknown job "nope"/,
    ],
    [
      'self need',
      (s) => {
        job(s).needs = 'build';
      },
      'jobs.build.needs[0]',
      /cannot need itself/,
    ],
    [
      'cycle',
      (s) => {
        s.jobs.a = { needs: ['c'], steps: [{ uses: 'http' }] };
        s.jobs.b = { needs: ['a'], steps: [{ uses: 'http' }] };
        s.jobs.c = { needs: ['b'], steps: [{ uses: 'http' }] };
      },
      'jobs.a.needs',
      /dependency cycle: a → c → b → a/,
    ],
    [
      'duplicate step id',
      (s) => {
        job(s).steps = [
          { id: 'x', uses: 'http' },
          { id: 'x', uses: 'http' },
        ];
      },
      'jobs.build.steps[1].id',
      /duplicate step id "x", also used by jobs.build.steps\[0\]/,
    ],
    [
      'duplicate id in a hook',
      (s) => {
        job(s).hooks = { post: [{ id: 'one', uses: 'http' }] };
      },
      'jobs.build.hooks.post[0].id',
      /duplicate step id "one"/,
    ],
    [
      'explicit id equal to an implicit one',
      (s) => {
        job(s).steps = [{ uses: 'http' }, { id: 's0', uses: 'http' }];
      },
      'jobs.build.steps[1].id',
      /duplicate step id "s0".*without id is known as "s0"/,
    ],
    [
      'template syntax',
      (s) => {
        job(s).steps = [{ uses: 'http', with: { url: 'x${{ inputs. }}' } }];
      },
      'jobs.build.steps[0].with.url',
      /invalid expression/,
    ],
    [
      'unclosed template',
      (s) => {
        s.env = { A: '${{ inputs.a' };
      },
      'env.A',
      /invalid expression.*closing/,
    ],
    [
      'unknown context',
      (s) => {
        job(s).outputs = { o: '${{ input.a }}' };
      },
      'jobs.build.outputs.o',
      /unknown context 'input'/,
    ],
    [
      'job if syntax',
      (s) => {
        job(s).if = 'a ===';
      },
      'jobs.build.if',
      /invalid expression/,
    ],
    [
      'step if syntax',
      (s) => {
        job(s).steps = [{ uses: 'http', if: "inputs.x == 'a" }];
      },
      'jobs.build.steps[0].if',
      /invalid expression/,
    ],
    [
      'hook if syntax',
      (s) => {
        job(s).hooks = { onFailure: [{ uses: 'http', if: 'x y' }] };
      },
      'jobs.build.hooks.onFailure[0].if',
      /invalid expression/,
    ],
    [
      'expression over 4 KiB',
      (s) => {
        job(s).steps = [
          { uses: 'http', with: { body: `\${{ '${'a'.repeat(LIMITS.expressionBytes)}' }}` } },
        ];
      },
      'jobs.build.steps[0].with.body',
      /longer than 4096/,
    ],
    [
      'needs not listed',
      (s) => {
        s.jobs.other = { steps: [{ uses: 'http' }], outputs: { v: '1' } };
        job(s).steps = [{ uses: 'http', with: { v: '${{ needs.other.outputs.v }}' } }];
      },
      'jobs.build.steps[0].with.v',
      /needs.other: job "build" does not list "other"/,
    ],
    [
      'needs at workflow level',
      (s) => {
        s.env = { A: '${{ needs.build.result }}' };
      },
      'env.A',
      /only available inside a job/,
    ],
    [
      'undeclared secret',
      (s) => {
        job(s).steps = [{ uses: 'http', with: { h: '${{ secrets.TOKEN }}' } }];
      },
      'jobs.build.steps[0].with.h',
      /secrets.TOKEN is not declared/,
    ],
    [
      'secret of another step',
      (s) => {
        job(s).steps = [
          { uses: 'http', secrets: ['TOKEN'] },
          { uses: 'http', with: { h: "${{ secrets['TOKEN'] }}" } },
        ];
      },
      'jobs.build.steps[1].with.h',
      /secrets.TOKEN is not declared/,
    ],
    [
      'jobs outside outputs',
      (s) => {
        job(s).env = { A: '${{ jobs.build.outputs.x }}' };
      },
      'jobs.build.env.A',
      /only available in the workflow outputs/,
    ],
    [
      'unknown job in outputs',
      (s) => {
        s.outputs = { o: '${{ jobs.nope.outputs.x }}' };
      },
      'outputs.o',
      /jobs.nope: no such job/,
    ],
    [
      'matrix without strategy',
      (s) => {
        job(s).steps = [{ uses: 'http', with: { os: '${{ matrix.os }}' } }];
      },
      'jobs.build.steps[0].with.os',
      /strategy.matrix/,
    ],
    [
      'later step',
      (s) => {
        job(s).steps = [
          { uses: 'http', with: { v: '${{ steps.two.outputs.v }}' } },
          { id: 'two', uses: 'http' },
        ];
      },
      'jobs.build.steps[0].with.v',
      /steps.two has not run yet/,
    ],
    [
      'unknown step',
      (s) => {
        job(s).outputs = { o: '${{ steps.ghost.outputs.v }}' };
      },
      'jobs.build.outputs.o',
      /steps.ghost: no step with that id/,
    ],
    [
      'steps in job if',
      (s) => {
        job(s).if = "steps.one.outcome == 'success'";
      },
      'jobs.build.if',
      /steps context is only available in steps/,
    ],
    [
      'pre hook reading a main step',
      (s) => {
        job(s).hooks = { pre: [{ uses: 'http', with: { v: '${{ steps.one.outputs.x }}' } }] };
      },
      'jobs.build.hooks.pre[0].with.v',
      /steps.one has not run yet/,
    ],
    [
      'matrix too large',
      (s) => {
        job(s).strategy = { matrix: { a: range(10), b: range(10), c: range(3) } };
      },
      'jobs.build.strategy.matrix',
      /300 combinations; at most 256/,
    ],
    [
      'matrix absurdly large',
      (s) => {
        job(s).strategy = { matrix: { a: range(100), b: range(100), c: range(100) } };
      },
      'jobs.build.strategy.matrix',
      /1000000 combinations before exclude/,
    ],
    [
      'matrix emptied by exclude',
      (s) => {
        job(s).strategy = { matrix: { os: ['linux'], exclude: [{ os: 'linux' }] } };
      },
      'jobs.build.strategy.matrix',
      /no combinations/,
    ],
    [
      'exclude of an unknown key',
      (s) => {
        job(s).strategy = { matrix: { os: ['linux', 'mac'], exclude: [{ arch: 'arm' }] } };
      },
      'jobs.build.strategy.matrix.exclude[0].arch',
      /not a matrix key/,
    ],
  ])('%s', (_what, patch, path, message) => {
    const problems = problemsOf({ value: specValue(patch) });
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it.each<[string, (s: Raw & { jobs: Record<string, Raw> }) => void]>([
    [
      'a secret declared on the workflow',
      (s) => {
        s.secrets = ['TOKEN'];
        job(s).steps = [{ uses: 'http', with: { h: '${{ secrets.TOKEN }}' } }];
      },
    ],
    [
      'a secret declared on the job, read case-insensitively',
      (s) => {
        job(s).secrets = ['TOKEN'];
        job(s).outputs = { h: '${{ secrets.token }}' };
      },
    ],
    [
      'a secret declared on the step',
      (s) => {
        job(s).steps = [
          { uses: 'http', secrets: ['TOKEN'], with: { h: 'Bearer ${{ secrets.TOKEN }}' } },
        ];
      },
    ],
    [
      'needs of a listed job, a bare if, matrix with a strategy',
      (s) => {
        job(s).outputs = { v: '${{ steps.one.outputs.message }}' };
        s.jobs.test = {
          needs: ['build'],
          if: "always() && needs.build.result == 'success'",
          strategy: { matrix: { os: ['linux'] } },
          steps: [
            { uses: 'http', with: { os: '${{ matrix.os }}', v: '${{ needs.build.outputs.v }}' } },
          ],
        };
      },
    ],
    [
      'an earlier step, from steps and from onFailure and post hooks',
      (s) => {
        job(s).steps.push({ uses: 'http', with: { v: '${{ steps.one.outputs.x }}' } });
        job(s).hooks = {
          pre: [{ id: 'p', uses: 'http' }],
          onFailure: [
            { uses: 'http', with: { v: '${{ steps.one.outcome }} ${{ steps.p.outcome }}' } },
          ],
          post: [{ uses: 'http', if: "steps.onFailure0.outcome == 'success'" }],
        };
      },
    ],
    [
      'a matrix of 256 after exclude and include',
      (s) => {
        job(s).strategy = {
          matrix: {
            a: range(16),
            b: range(17),
            exclude: [{ b: 16 }],
            include: [{ a: 0, extra: true }],
          },
        };
      },
    ],
  ])('accepts %s', (_what, patch) => {
    expect(() => loadSpec({ value: specValue(patch) })).not.toThrow();
  });

  it('reports many problems at once, each with its path and line', () => {
    const text = [
      'name: 9bad', //                            1
      'on: {manual: true}', //                    2
      'jobs:', //                                 3
      '  build:', //                              4
      '    needs: [ghost]', //                    5
      '    timeout: 5', //                        6
      '    steps:', //                            7
      '      - uses: plugin:kb/thing', //         8
      '      - uses: http', //                    9
      '        with: { x: "${{ inputs. }}" }', // 10
      '  test:', //                               11
      '    steps: []', //                         12
    ].join('\n');
    const problems = problemsOf(yaml(text));
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'name', message: expect.stringMatching(/must match/), line: 1 },
        {
          path: 'jobs.build.timeout',
          message: expect.stringMatching(/unknown key "timeout".*timeoutMs/),
          line: 6,
        },
        { path: 'jobs.build.steps[0].uses', message: expect.stringMatching(/plugin/), line: 8 },
        {
          path: 'jobs.build.steps[1].with.x',
          message: expect.stringMatching(/invalid expression/),
          line: 10,
        },
        { path: 'jobs.test.steps', message: 'a job needs at least one step', line: 12 },
        // Found in the same pass, although the schema rejected the spec.
        { path: 'jobs.build.needs[0]', message: 'unknown job "ghost" in needs', line: 5 },
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('reports graph and expression problems together with lines', () => {
    const text = [
      'name: wf',
      'on: {manual: true}',
      'jobs:',
      '  a:',
      '    needs: b',
      '    steps: [{uses: http}]',
      '  b:',
      '    needs: [a, ghost]',
      '    steps:',
      '      - uses: http',
      '        with:',
      '          token: ${{ secrets.NOPE }}',
    ].join('\n');
    expect(problemsOf(yaml(text))).toEqual([
      { path: 'jobs.b.needs[1]', message: 'unknown job "ghost" in needs', line: 8 },
      { path: 'jobs.a.needs', message: 'dependency cycle: a → b → a', line: 5 },
      {
        path: 'jobs.b.steps[0].with.token',
        message: 'secrets.NOPE is not declared in a secrets: list of the workflow, job or step',
        line: 12,
      },
    ]);
  });

  it('rejects what would only fail or read null at run time, each with its path', () => {
    const text = [
      'name: wf', //                                                     1
      'on: {manual: true}', //                                           2
      'inputs: { ref: { type: string } }', //                            3
      'outputs: { url: "${{ jobs.a.outputs.nope }}" }', //               4
      'jobs:', //                                                        5
      '  a:', //                                                         6
      '    outputs: { url: "${{ steps.s.outputs.url }}" }', //           7
      '    steps:', //                                                   8
      '      - { id: s, uses: action:run-tests }', //                    9
      '      - { uses: action:echo, with: { r: "${{ inputs.REF }}", n: "${{ inputs.nope }}" } }',
      '  b:', //                                                        11
      '    needs: [a]', //                                              12
      '    if: needs.a.outputs.url != needs.a.outputs.uri', //          13
      '    steps: [{ uses: action:echo, with: { v: "${{ steps.later.outputs.x }}" } }]',
    ].join('\n');
    expect(problemsOf(yaml(text))).toEqual([
      {
        path: 'jobs.a.steps[0].uses',
        message: expect.stringMatching(/^unknown action "run-tests"; registered actions: echo, /),
        line: 9,
      },
      {
        path: 'outputs.url',
        message: 'jobs.a.outputs.nope: job "a" has no output "nope" (it declares url)',
        line: 4,
      },
      {
        path: 'jobs.a.steps[1].with.n',
        message: 'inputs.nope: no such input (declared: ref)',
        line: 10,
      },
      {
        path: 'jobs.b.if',
        message: 'needs.a.outputs.uri: job "a" has no output "uri" (it declares url)',
        line: 13,
      },
      {
        path: 'jobs.b.steps[0].with.v',
        message: 'steps.later: no step with that id in job "b"',
        line: 14,
      },
    ]);
  });

  it('reads inputs as undeclared when the workflow declares none', () => {
    const problems = problemsOf({
      value: specValue((s) => {
        job(s).steps = [{ uses: 'action:echo', with: { v: '${{ inputs.x }}' } }];
      }),
    });
    expect(problems).toEqual([
      {
        path: 'jobs.build.steps[0].with.v',
        message: 'inputs.x: no such input (the workflow declares no inputs)',
      },
    ]);
  });

  it('checks the valid jobs of a spec the schema rejected, without false alarms about the others', () => {
    const text = [
      'name: wf',
      'on: {manual: true}',
      'jobs:',
      '  broken: { needs: [], stepz: [] }',
      '  next:',
      '    needs: [broken, ghost]',
      '    steps: [{ uses: action:echo, with: { v: "${{ needs.broken.outputs.any }}" } }]',
    ].join('\n');
    expect(problemsOf(yaml(text)).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'jobs.broken.steps: required',
      expect.stringMatching(/^jobs\.broken\.stepz: unknown key "stepz"; did you mean "steps"/),
      'jobs.next.needs[1]: unknown job "ghost" in needs',
    ]);
  });

  it('throws a ValidationError whose message names the first problem', () => {
    const err = (() => {
      try {
        loadSpec({
          value: specValue((s) => {
            s.name = '-';
            s.description = 3;
          }),
        });
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err?.code).toBe('VALIDATION');
    expect(err?.message).toMatch(/^invalid workflow spec: name: .* \(and 1 more\)$/);
  });
});

describe('loadSpec: source text', () => {
  it.each([
    ['an empty document', '', 'null'],
    ['a list', '- a\n- b', 'array'],
  ])('says the spec must be a mapping for %s', (_what, text, got) => {
    expect(problemsOf(yaml(text))).toEqual([
      {
        path: '',
        message: `expected a mapping (object), got ${got}`,
        ...(text ? { line: 1 } : {}),
      },
    ]);
  });

  it('explains on: push (GitHub style) and suggests only close keys', () => {
    const problems = problemsOf(
      yaml('name: x\non: push\njobs: {a: {steps: [{uses: http}]}}\n<<: {x: 1}'),
    );
    expect(problems).toEqual([
      { path: 'on', message: 'expected a mapping (object), got string', line: 2 },
      {
        path: '["<<"]',
        message: expect.stringMatching(/^unknown key "<<" \(allowed: name, version/),
        line: 4,
      },
    ]);
  });

  it('gives YAML syntax errors a line and the empty path', () => {
    const problems = problemsOf(yaml('name: wf\non:\n  manual: true\n jobs: [\n'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({
      path: '',
      line: expect.any(Number),
      message: expect.stringMatching(/^invalid YAML/),
    });
  });

  it('rejects duplicate YAML keys', () => {
    const problems = problemsOf(
      yaml('name: wf\nname: other\non: {manual: true}\njobs: {a: {steps: [{uses: http}]}}'),
    );
    expect(problems).toEqual([{ path: '', message: expect.stringMatching(/unique/i), line: 2 }]);
  });

  it('refuses runaway YAML aliases', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const problems = problemsOf(yaml(lines.join('\n')));
    expect(problems[0]?.message).toMatch(/alias/i);
  });

  it.each([
    ['{\n  "name": "wf",\n  "on": }', 3, /unexpected '}'/],
    ['{\n  "name": "wf",\n}', 3, /property name/],
    ['{"name": "wf"', 1, /expected ','/],
    ['{\n "a": "b\n"}', 2, /control character/],
  ])('gives a JSON syntax error a line: %j', (text, line, message) => {
    expect(problemsOf({ text, format: 'json' })).toEqual([
      { path: '', line, message: expect.stringMatching(message) },
    ]);
  });

  it('gives problems in JSON text their line', () => {
    const text = JSON.stringify(
      specValue((s) => {
        job(s).steps = [{ uses: 'plugin:x' }];
      }),
      null,
      2,
    );
    const [problem] = problemsOf({ text, format: 'json' });
    expect(problem?.path).toBe('jobs.build.steps[0].uses');
    expect(text.split('\n')[(problem?.line ?? 0) - 1]).toContain('"uses": "plugin:x"');
  });

  it.each<[string, (pad: string) => SpecInput]>([
    [
      'YAML',
      (pad) =>
        yaml(
          `name: wf\ndescription: ${pad}\non: {manual: true}\njobs: {a: {steps: [{uses: http}]}}`,
        ),
    ],
    [
      'JSON',
      (pad) => ({
        text: JSON.stringify(
          specValue((s) => {
            s.description = pad;
          }),
        ),
        format: 'json',
      }),
    ],
    [
      'a value',
      (pad) => ({
        value: specValue((s) => {
          s.with = pad;
        }),
      }),
    ],
  ])('refuses %s larger than 256 KiB', (_what, make) => {
    const problems = problemsOf(make('x'.repeat(LIMITS.specBytes)));
    expect(problems).toEqual([{ path: '', message: expect.stringMatching(/at most 262144/) }]);
  });

  it('refuses values nested absurdly deep', () => {
    let body: unknown = 'x';
    for (let i = 0; i < 100; i++) body = { body };
    const problems = problemsOf({
      value: specValue((s) => {
        job(s).steps = [{ uses: 'http', with: body }];
      }),
    });
    expect(problems[0]?.message).toMatch(/nested deeper than 64/);
  });
});

describe('specDigest', () => {
  const load = (value: Raw): Workflow => loadSpec({ value });

  it('is the same for the same spec written differently', () => {
    const a = load(
      specValue((s) => {
        s.env = { A: '1', B: '2' };
      }),
    );
    const b = loadSpec(
      yaml(
        'jobs:\n  build:\n    steps:\n      - uses: action:echo\n        id: one\n        with: {message: hi}\nenv: {B: 2, A: 1}\non: {manual: true}\nname: wf\n',
      ),
    );
    expect(specDigest(a)).toBe(specDigest(b));
    expect(specDigest(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('drops a __proto__ key, so nothing downstream can be polluted', () => {
    const spec = load(
      specValue((s) => {
        job(s).steps = [{ uses: 'http', with: JSON.parse('{"__proto__": {"x": 1}}') }];
      }),
    );
    const args = spec.jobs.build?.steps[0]?.with ?? {};
    expect(Object.keys(args)).toEqual([]);
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
  });

  it('changes when anything changes', () => {
    const a = load(specValue());
    const b = load(
      specValue((s) => {
        job(s).priority = 'low';
      }),
    );
    expect(specDigest(a)).not.toBe(specDigest(b));
  });
});

describe('parseUses', () => {
  it.each<[string, ReturnType<typeof parseUses>]>([
    ['http', { kind: 'http' }],
    ['shell', { kind: 'shell' }],
    ['builtin:shell', { kind: 'shell' }],
    ['approval', { kind: 'approval' }],
    ['builtin:approval', { kind: 'approval' }],
    ['sleep', { kind: 'sleep' }],
    ['signal', { kind: 'signal' }],
    ['action:echo', { kind: 'action', name: 'echo' }],
    ['workflow:smoke-tests', { kind: 'workflow', name: 'smoke-tests' }],
    ['lambda:my-fn:live', { kind: 'lambda', name: 'my-fn:live' }],
  ])('%s', (uses, expected) => {
    expect(parseUses(uses)).toEqual(expected);
  });

  it.each([
    ['plugin:kb/release', /plugin steps are not supported; supported kinds: http, shell/],
    ['builtin:gate', /unknown step kind "builtin:gate"; supported kinds/],
    ['HTTP', /unknown step kind/],
    ['action:', /needs a name/],
    ['workflow:1bad', /invalid workflow name/],
    ['action:bad name', /invalid action name/],
    ['', /unknown step kind/],
  ])('rejects %j', (uses, message) => {
    expect(parseUses(uses)).toMatch(message);
  });
});

describe('expandMatrix', () => {
  it.each<[string, Record<string, unknown[]>, Record<string, unknown>[]]>([
    [
      'product in matrix order',
      { os: ['l', 'm'], n: [1, 2] },
      [
        { os: 'l', n: 1 },
        { os: 'l', n: 2 },
        { os: 'm', n: 1 },
        { os: 'm', n: 2 },
      ],
    ],
    [
      'exclude by partial match',
      { os: ['l', 'm'], n: [1, 2], exclude: [{ os: 'm', n: 2 }, { n: 3 }] },
      [
        { os: 'l', n: 1 },
        { os: 'l', n: 2 },
        { os: 'm', n: 1 },
      ],
    ],
    [
      'include merges where it fits, else appends',
      { os: ['l', 'm'], include: [{ os: 'l', big: true }, { os: 'w' }] },
      [{ os: 'l', big: true }, { os: 'm' }, { os: 'w' }],
    ],
    [
      'include adds a key to every combination',
      { n: [1, 2], include: [{ tag: 'x' }] },
      [
        { n: 1, tag: 'x' },
        { n: 2, tag: 'x' },
      ],
    ],
    ['include only', { include: [{ a: 1 }, { a: 2 }] }, [{ a: 1 }, { a: 2 }]],
  ])('%s', (_what, matrix, expected) => {
    expect(expandMatrix(matrix)).toEqual(expected);
  });

  it('keys instances name[k=v,...] in matrix order', () => {
    expect(matrixJobKey('test', { shard: 1, os: 'linux' })).toBe('test[shard=1,os=linux]');
  });
});

describe('formatPath / parsePath', () => {
  it.each<[PropertyKey[], string]>([
    [['jobs', 'build', 'steps', 2, 'uses'], 'jobs.build.steps[2].uses'],
    [['env', 'A.B'], 'env["A.B"]'],
    [[], ''],
    [['outputs', 'a b', 'x'], 'outputs["a b"].x'],
  ])('%j ↔ %s', (segments, path) => {
    expect(formatPath(segments)).toBe(path);
    expect(parsePath(path)).toEqual(segments);
  });
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

describe('loadSpec: KB Labs spellings', () => {
  const withOf = (uses: string, args: Raw) =>
    loadSpec({
      value: specValue((s) => {
        job(s).steps = [{ uses, with: args }];
      }),
    }).jobs.build?.steps[0]?.with;

  it.each<[string, Raw, Raw]>([
    ['builtin:shell', { run: 'make', cwd: '/src' }, { command: 'make', cwd: '/src' }],
    ['builtin:shell', { script: 'make' }, { command: 'make' }],
    [
      'builtin:approval',
      { message: 'Deploy?', timeout: 600, approvers: ['a'] },
      { message: 'Deploy?', timeoutSeconds: 600, approvers: ['a'] },
    ],
    [
      'builtin:approval',
      { timeout: '${{ run.attempt }}' },
      { timeoutSeconds: '${{ run.attempt }}' },
    ],
    // Only the builtin: spellings speak KB Labs.
    ['shell', { run: 'make' }, { run: 'make' }],
    ['approval', { timeout: 600 }, { timeout: 600 }],
    ['action:echo', { timeout: 600 }, { timeout: 600 }],
  ])('%s with %j is stored as %j', (uses, args, stored) => {
    const out = withOf(uses, args);
    expect(out).toEqual(stored);
    expect(Object.keys(out ?? {})).toEqual(Object.keys(stored));
  });

  it('gives the same digest to the KB Labs and the flowline name of an argument', () => {
    const digest = (args: Raw) =>
      specDigest(
        loadSpec({
          value: specValue((s) => {
            job(s).steps = [{ uses: 'builtin:approval', with: args }];
          }),
        }),
      );
    expect(digest({ timeout: 60 })).toBe(digest({ timeoutSeconds: 60 }));
  });

  it.each<[string, Raw, string, RegExp]>([
    [
      'builtin:shell',
      { command: 'a', run: 'b' },
      'with.run',
      /with.command and with.run both give command/,
    ],
    [
      'builtin:shell',
      { run: 'a', script: 'b' },
      'with.script',
      /with.run and with.script both give command/,
    ],
    [
      'builtin:approval',
      { timeoutSeconds: 1, timeout: 2 },
      'with.timeout',
      /with.timeoutSeconds and with.timeout both give timeoutSeconds/,
    ],
  ])('rejects %s with two names of one argument %j', (uses, args, at, message) => {
    const problems = problemsOf({
      value: specValue((s) => {
        job(s).steps = [{ uses, with: args }];
      }),
    });
    expect(problems).toEqual([
      { path: `jobs.build.steps[0].${at}`, message: expect.stringMatching(message) },
    ]);
  });

  it('reads one schedule mapping as a list of one', () => {
    const spec = loadSpec(
      yaml(
        'name: wf\non:\n  manual: true\n  schedule:\n    cron: "0 9 * * 1"\n    timezone: Europe/Moscow\njobs:\n  build: { steps: [{ uses: action:noop }] }\n',
      ),
    );
    expect(spec.on.schedule).toEqual([{ cron: '0 9 * * 1', timezone: 'Europe/Moscow' }]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a bad cron in the mapping', { cron: '* * *' }, 'on.schedule[0].cron', /5 fields/],
    ['a scalar', 5, 'on.schedule', /a \{cron, timezone\} mapping or a list of them/],
  ])('reports %s', (_what, schedule, path, message) => {
    const problems = problemsOf({
      value: specValue((s) => {
        s.on = { schedule };
      }),
    });
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});
