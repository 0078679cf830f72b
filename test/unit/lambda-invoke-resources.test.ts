import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/** The execute role's lambda:InvokeFunction resources from the `lambdaAllow` setting. */
const { invokeResources } = createRequire(import.meta.url)(
  '../../deploy/lambda-invoke-resources.cjs',
) as { invokeResources: (runner: string, setting: string) => { 'Fn::Sub': string }[] };

const arn = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}`,
});

describe('lambda:InvokeFunction resources', () => {
  it('are the runner alone when nothing is allowed', () => {
    expect(invokeResources('flowline-dev-runner', '')).toEqual([arn('flowline-dev-runner')]);
  });

  it('add each allowed name or glob, with its versions and aliases', () => {
    expect(invokeResources('r', ' flowline-dev-echo , team-* ')).toEqual([
      arn('r'),
      arn('flowline-dev-echo'),
      arn('flowline-dev-echo:*'),
      arn('team-*'),
      arn('team-*:*'),
    ]);
  });

  it.each(['*:*', 'arn:aws:lambda:x', 'a b', 'a/b', '${x}'])('refuse %j', (entry) => {
    expect(() => invokeResources('r', entry)).toThrow(/not a function name or glob/);
  });

  it.each(['*', '?*', 'echo,**'])('refuse %j: every function of the account', (setting) => {
    expect(() => invokeResources('r', setting)).toThrow(/would allow every function/);
  });
});
