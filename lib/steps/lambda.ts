import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from '../config.js';
import { FlowlineError } from '../errors.js';
import {
  abortError,
  isPlainObject,
  requireCapability,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';

/** A function's errorMessage is cut here in the step's error and outputs. */
export const LAMBDA_ERROR_MESSAGE_CAP = 4096;

export interface LambdaStepOptions {
  client: LambdaClient;
  /**
   * `<service>-<stage>-` (FLOWLINE_LAMBDA_PREFIX): a short name is looked up under
   * it first, so `lambda:echo` is this service's `echo` function.
   */
  functionPrefix?: string | undefined;
}

/**
 * Locally `endpoint` is serverless offline's Lambda port; on AWS it is unset and the
 * SDK's default applies. Credentials come from the default chain (the local stack
 * sets dummy AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; offline passes AWS_* through).
 */
export function createLambdaClient(
  config: Pick<Config, 'region' | 'lambdaEndpoint'>,
): LambdaClient {
  return new LambdaClient({
    region: config.region,
    ...(config.lambdaEndpoint ? { endpoint: config.lambdaEndpoint } : {}),
    // No SDK retries: a retry after a dropped connection would invoke the function
    // again; the step's own `retries` is the one policy for that.
    maxAttempts: 1,
  });
}

/**
 * The FunctionNames to try for `lambda:<name>`, in order. An ARN (`arn:…`) or a
 * partial ARN (`<account>:function:<name>`) is used as is, and so is a name that
 * already carries the prefix. Any other name is first this service's function
 * (`<prefix><name>`), then, if no such function exists, the name as is (a function
 * of another service). A `:<alias or version>` suffix stays on the name.
 */
export function functionNameCandidates(name: string, prefix: string | undefined): string[] {
  if (name.startsWith('arn:') || name.includes(':function:')) return [name];
  if (!prefix || name.startsWith(prefix)) return [name];
  return [`${prefix}${name}`, name];
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
      requireCapability(req, 'lambda');
      const name = req.uses.slice('lambda:'.length);
      if (name === '') throw new FlowlineError('VALIDATION', "'lambda:' needs a function name");
      const { payload } = parseWith(req.with);
      const candidates = functionNameCandidates(name, options.functionPrefix);

      for (const functionName of candidates) {
        let res: InvokeCommandOutput;
        try {
          res = await options.client.send(
            new InvokeCommand({
              FunctionName: functionName,
              InvocationType: 'RequestResponse',
              ...(payload ? { Payload: payload } : {}),
            }),
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
  async run(req: StepRequest): Promise<StepOutputs> {
    requireCapability(req, 'lambda');
    throw new FlowlineError('INTERNAL', 'lambda steps need a Lambda client (createApp makes one)');
  },
};
