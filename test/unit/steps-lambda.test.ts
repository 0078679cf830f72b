import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { executorFor, type StepExecutor } from '../../lib/steps/index.js';
import {
  functionErrorOutputs,
  functionNameCandidates,
  LAMBDA_ERROR_MESSAGE_CAP,
  outputsOfResponse,
} from '../../lib/steps/lambda.js';

const PREFIX = 'flowline-dev-';

describe('functionNameCandidates', () => {
  it.each<[string, string | undefined, string[]]>([
    ['echo', PREFIX, ['flowline-dev-echo', 'echo']],
    ['echo:live', PREFIX, ['flowline-dev-echo:live', 'echo:live']],
    ['flowline-dev-echo', PREFIX, ['flowline-dev-echo']],
    ['flowline-dev-echo:3', PREFIX, ['flowline-dev-echo:3']],
    ['billing-prod-charge', PREFIX, ['flowline-dev-billing-prod-charge', 'billing-prod-charge']],
    [
      'arn:aws:lambda:eu-west-1:123456789012:function:resize',
      PREFIX,
      ['arn:aws:lambda:eu-west-1:123456789012:function:resize'],
    ],
    [
      'arn:aws:lambda:eu-west-1:123456789012:function:resize:prod',
      PREFIX,
      ['arn:aws:lambda:eu-west-1:123456789012:function:resize:prod'],
    ],
    ['123456789012:function:resize', PREFIX, ['123456789012:function:resize']],
    ['echo', undefined, ['echo']],
    ['echo', '', ['echo']],
  ])('%s with prefix %j → %j', (name, prefix, candidates) => {
    expect(functionNameCandidates(name, prefix)).toEqual(candidates);
  });
});

describe('outputsOfResponse', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['an object is the outputs', '{"a":1,"b":{"c":[2]}}', { a: 1, b: { c: [2] } }],
    ['an array goes under result', '[1,2]', { result: [1, 2] }],
    ['a string goes under result', '"done"', { result: 'done' }],
    ['a number goes under result', '42', { result: 42 }],
    ['a boolean goes under result', 'false', { result: false }],
    ['null (no return value) is no outputs', 'null', {}],
    ['an empty answer is no outputs', '', {}],
    // serverless offline answers a returned string `say "hi"` as "say "hi"".
    ['text that is not JSON goes under result', '"say "hi""', { result: '"say "hi""' }],
  ])('%s', (_, text, outputs) => {
    expect(outputsOfResponse(text)).toEqual(outputs);
  });
});

describe('functionErrorOutputs', () => {
  it('keeps errorType and errorMessage, never the trace', () => {
    const body = JSON.stringify({
      errorType: 'EchoError',
      errorMessage: 'disk on fire',
      trace: ['EchoError: disk on fire', '    at handler (/var/task/echo.mjs:3:9)'],
    });
    expect(functionErrorOutputs('Unhandled', body)).toEqual({
      functionError: 'Unhandled',
      errorType: 'EchoError',
      errorMessage: 'disk on fire',
    });
  });

  it('falls back to the FunctionError header and the raw text', () => {
    expect(functionErrorOutputs('Handled', 'out of memory')).toEqual({
      functionError: 'Handled',
      errorType: 'Handled',
      errorMessage: 'out of memory',
    });
  });

  it(`cuts a message at ${LAMBDA_ERROR_MESSAGE_CAP} characters`, () => {
    const body = JSON.stringify({ errorType: 'E', errorMessage: 'x'.repeat(10_000) });
    const { errorMessage } = functionErrorOutputs('Unhandled', body);
    expect(errorMessage).toBe(`${'x'.repeat(LAMBDA_ERROR_MESSAGE_CAP)}…`);
  });
});

describe('lambda: in executorFor and config', () => {
  it.each(['lambda:echo', 'lambda:arn:aws:lambda:us-east-1:123456789012:function:f'])(
    '%s → the app’s lambda executor, once the lambda capability is checked',
    async (uses) => {
      const own: StepExecutor = { run: async (req) => ({ ran: req.uses }) };
      const executor = executorFor(uses, { lambda: own });
      const req = {
        uses,
        with: {},
        env: {},
        idempotencyKey: 'run1:job:s0',
        signal: new AbortController().signal,
      };
      await expect(executor.run({ ...req, capabilities: new Set(['lambda']) })).resolves.toEqual({
        ran: uses,
      });
      await expect(executor.run({ ...req, capabilities: new Set() })).rejects.toMatchObject({
        code: 'CAPABILITY_DENIED',
      });
    },
  );

  it('reads AWS_ENDPOINT_URL_LAMBDA and FLOWLINE_LAMBDA_PREFIX', () => {
    const base = { FLOWLINE_QUEUE_URL: 'http://127.0.0.1:1/000000000000/q' };
    expect(
      loadConfig({
        ...base,
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002',
        FLOWLINE_LAMBDA_PREFIX: PREFIX,
      }),
    ).toMatchObject({ lambdaEndpoint: 'http://127.0.0.1:3002', lambdaPrefix: PREFIX });
    const unset = loadConfig({ ...base, AWS_ENDPOINT_URL_LAMBDA: '', FLOWLINE_LAMBDA_PREFIX: '' });
    expect(unset.lambdaEndpoint).toBeUndefined();
    expect(unset.lambdaPrefix).toBeUndefined();
  });
});
