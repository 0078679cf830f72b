import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../lib/spec/index.js';
import {
  bareFunctionName,
  decideLambdaTarget,
  type LambdaPolicy,
} from '../../lib/steps/lambda-allow.js';
import { lambdaProblems } from '../../lib/steps/lambda-registration.js';

const POLICY: LambdaPolicy = {
  allow: ['flowline-dev-echo', 'billing-*'],
  prefix: 'flowline-dev-',
};

describe('bareFunctionName', () => {
  it.each([
    ['echo', 'echo'],
    ['echo:prod', 'echo'],
    ['123456789012:function:resize', 'resize'],
    ['arn:aws:lambda:eu-west-1:123456789012:function:resize:7', 'resize'],
  ])('%s → %s', (name, bare) => {
    expect(bareFunctionName(name)).toBe(bare);
  });
});

describe('decideLambdaTarget', () => {
  it.each([
    ['echo', ['flowline-dev-echo']],
    ['flowline-dev-echo', ['flowline-dev-echo']],
    ['echo:live', ['flowline-dev-echo:live']],
    ['billing-charge', ['billing-charge']],
    [
      'arn:aws:lambda:us-east-1:123456789012:function:billing-refund',
      ['arn:aws:lambda:us-east-1:123456789012:function:billing-refund'],
    ],
  ])('allows %s, trying %j', (name, allowed) => {
    expect(decideLambdaTarget(name, POLICY)).toEqual({ allowed });
  });

  it.each([
    'execute',
    'schedule',
    'submit',
    'runner',
    'flowline-dev-execute',
    'execute:live',
    'arn:aws:lambda:us-east-1:123456789012:function:flowline-dev-schedule',
  ])('denies %s: one of flowline’s own functions, even under an allow-all glob', (name) => {
    const decision = decideLambdaTarget(name, { ...POLICY, allow: ['*'] });
    expect(decision).toEqual({
      denied: expect.stringContaining("one of flowline's own functions"),
    });
  });

  it('denies the runner function by its configured name', () => {
    const policy = { allow: ['*'], runnerFunction: 'sandbox-fn' };
    expect(decideLambdaTarget('sandbox-fn', policy)).toHaveProperty('denied');
  });

  it.each(['other', 'billing', 'flowline-dev-echo2', 'xbilling-charge'])(
    'denies %s: not in the allow list',
    (name) => {
      expect(decideLambdaTarget(name, POLICY)).toEqual({
        denied: expect.stringMatching(/is not allowed: .* must match FLOWLINE_LAMBDA_ALLOW/),
      });
    },
  );

  it('allows nothing with an empty list', () => {
    expect(decideLambdaTarget('echo', { allow: [], prefix: 'flowline-dev-' })).toEqual({
      denied: expect.stringContaining('FLOWLINE_LAMBDA_ALLOW (empty)'),
    });
  });
});

describe('lambdaProblems', () => {
  it('names the path of every denied lambda step, hooks included', () => {
    const spec = loadSpec({
      format: 'yaml',
      text: `
name: calls
on: { manual: true }
jobs:
  a:
    steps:
      - uses: lambda:echo
      - uses: lambda:execute
    hooks:
      post: [{ uses: lambda:somewhere-else }]
`,
    });
    expect(lambdaProblems(spec, POLICY)).toEqual([
      { path: 'jobs.a.steps[1].uses', message: expect.stringContaining('flowline-dev-execute') },
      { path: 'jobs.a.hooks.post[0].uses', message: expect.stringContaining('not allowed') },
    ]);
  });
});
