import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { FlowlineError } from '../errors.js';
import {
  abortError,
  isPlainObject,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';
import { decideLambdaTarget } from './lambda-allow.js';
import type { LambdaInvoker } from './lambda-client.js';

/** A function's errorMessage is cut here in the step's error and outputs. */
export const LAMBDA_ERROR_MESSAGE_CAP = 4096;

export { functionNameCandidates } from './lambda-allow.js';

export interface LambdaStepOptions {
  client: LambdaInvoker;
  /**
   * `<service>-<stage>-` (FLOWLINE_LAMBDA_PREFIX): a short name is looked up under
   * it first, so `lambda:echo` is this service's `echo` function.
   */
  functionPrefix?: string | undefined;
  /** FLOWLINE_LAMBDA_ALLOW: the functions steps may invoke (full names or globs). */
  allow: readonly string[];
  /** The runner function, which steps may not invoke either. */
  runnerFunction?: string | undefined;
}

function cap(text: string): string {
  return text.length > LAMBDA_ERROR_MESSAGE_CAP
    ? `${text.slice(0, LAMBDA_ERROR_MESSAGE_CAP)}…`
    : text;
}

function parseWith(w: Record<string, unknown>): { payload: Uint8Array | undefined } {
  const unknown = Object.keys(w).filter((k) => k !== 'payload');
  if (unknown.length > 0) {
    throw new FlowlineError(
      'VALIDATION',
      `lambda step: 'with' takes only 'payload' (the event), not ${unknown.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  // No payload: Lambda (and offline) hand the function `{}`.
  if (w.payload === undefined) return { payload: undefined };
  return { payload: new TextEncoder().encode(JSON.stringify(w.payload)) };
}

/**
 * A JSON object answer is the outputs; any other JSON value is `{result: value}`;
 * `null` (a handler that returns nothing) and an empty answer are `{}`. Text that is
 * not JSON (serverless offline quotes a returned string without escaping it) is
 * `{result: text}`.
 */
export function outputsOfResponse(text: string): StepOutputs {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { result: text };
  }
  if (value === null) return {};
  return isPlainObject(value) ? value : { result: value };
}

/** `{functionError, errorType, errorMessage}` of a failed invocation; the trace is left out. */
export function functionErrorOutputs(functionError: string, text: string): StepOutputs {
  let errorType = functionError;
  let errorMessage = text;
  try {
    const body: unknown = JSON.parse(text);
    if (isPlainObject(body)) {
      if (typeof body.errorType === 'string') errorType = body.errorType;
      errorMessage = typeof body.errorMessage === 'string' ? body.errorMessage : '';
    }
  } catch {
    // Not the runtime's JSON error document: keep the text.
  }
  return { functionError, errorType, errorMessage: cap(errorMessage) };
}

function sdkErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
}

/**
 * `uses: lambda:<function>`: Invoke with InvocationType RequestResponse, `with.payload`
 * as the event. A function error (FunctionError Unhandled/Handled) fails the step
 * (STEP_FAILED) with the function's errorType and errorMessage, never its trace.
 * Aborting (timeout, cancel) stops waiting for the answer; the function itself runs on.
 */
export function createLambdaExecutor(options: LambdaStepOptions): StepExecutor {
  return {
    async run(req: StepRequest): Promise<StepOutputs> {
      const name = req.uses.slice('lambda:'.length);
      if (name === '') throw new FlowlineError('VALIDATION', "'lambda:' needs a function name");
      const { payload } = parseWith(req.with);
      // Checked at registration too; here again for specs stored before the list changed.
      const decision = decideLambdaTarget(name, {
        allow: options.allow,
        prefix: options.functionPrefix,
        runnerFunction: options.runnerFunction,
      });
      if ('denied' in decision) throw new FlowlineError('CAPABILITY_DENIED', decision.denied);
      const candidates = decision.allowed;

      for (const functionName of candidates) {
        let res: InvokeCommandOutput;
        try {
          res = await options.client.invoke(
            {
              FunctionName: functionName,
              InvocationType: 'RequestResponse',
              ...(payload ? { Payload: payload } : {}),
            },
            { abortSignal: req.signal },
          );
        } catch (err) {
          if (req.signal.aborted) throw abortError(req.signal);
          if (err instanceof Error && err.name === 'ResourceNotFoundException') continue;
          throw new StepFailedError(
            `invoking Lambda function '${functionName}' failed: ${sdkErrorText(err)}`,
            undefined,
            'STEP_FAILED',
            { cause: err },
          );
        }
        const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
        if (res.FunctionError) {
          const outputs = functionErrorOutputs(res.FunctionError, text);
          const detail = outputs.errorMessage
            ? `${outputs.errorType}: ${outputs.errorMessage}`
            : `${outputs.errorType}`;
          throw new StepFailedError(`Lambda function '${functionName}' failed: ${detail}`, outputs);
        }
        return outputsOfResponse(text);
      }
      const tried = candidates.map((c) => `'${c}'`).join(' or ');
      throw new StepFailedError(`no Lambda function ${tried} (from '${req.uses}')`);
    },
  };
}

/** What executorFor gives `lambda:…` steps when the caller has no Lambda client. */
export const unconfiguredLambdaExecutor: StepExecutor = {
  async run(): Promise<StepOutputs> {
    throw new FlowlineError('INTERNAL', 'lambda steps need a Lambda client (createApp makes one)');
  },
};
