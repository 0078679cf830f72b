import { FlowlineError } from '../errors.js';
import type { LambdaInvoker } from '../steps/lambda-client.js';
import type { Runner, RunnerRequest, RunnerResult } from './model.js';

export interface LambdaRunnerOptions {
  client: LambdaInvoker;
  /** The runner function's name (FLOWLINE_RUNNER_FUNCTION). */
  functionName: string;
}

function isResult(value: unknown): value is RunnerResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.startError === 'string') return true;
  return (
    typeof v.exitCode === 'number' && typeof v.stdout === 'string' && typeof v.stderr === 'string'
  );
}

/**
 * Runs commands in the `runner` Lambda (functions/runner.ts): a function with no
 * permissions, no VPC and no flowline setting, so a command reaches nothing of the
 * engine. Aborting abandons the invocation; the runner kills the command at
 * `timeoutMs`, which is the step's budget.
 */
export function createLambdaRunner(options: LambdaRunnerOptions): Runner {
  return {
    async run(req: RunnerRequest, signal: AbortSignal): Promise<RunnerResult> {
      if (signal.aborted) throw signal.reason;
      const res = await options.client.invoke(
        {
          FunctionName: options.functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(req)),
        },
        { abortSignal: signal },
      );
      const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
      if (res.FunctionError) {
        throw new FlowlineError(
          'STEP_FAILED',
          `the runner function failed (${res.FunctionError}): ${text.slice(0, 1024)}`,
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (!isResult(body)) {
        throw new FlowlineError(
          'STEP_FAILED',
          'the runner function answered something else than a result',
        );
      }
      return body;
    },
  };
}
