import middy from '@middy/core';
import type { Context } from 'aws-lambda';

/** Thrown on request, so a workflow can see how a function error fails a `lambda:` step. */
class EchoError extends Error {
  override readonly name = 'EchoError';
}

export interface EchoResult {
  /** The event as received: a step's `with.payload`. */
  event: unknown;
  /** The full name the step resolved to, e.g. `flowline-dev-echo`. */
  functionName: string;
}

/**
 * The example target of `uses: lambda:echo` (examples/lambda.yml): answers with the
 * event it was given; an event `{fail: "message"}` makes it throw that message.
 */
export const handler = middy<unknown, EchoResult, Error, Context>().handler(
  async (event, context) => {
    if (typeof event === 'object' && event !== null && 'fail' in event) {
      throw new EchoError(String(event.fail));
    }
    return { event, functionName: context.functionName };
  },
);
