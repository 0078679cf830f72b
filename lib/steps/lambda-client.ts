import type { InvokeCommandInput, InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { cjsExports } from '../cjs-exports.js';
import type { Config } from '../config.js';

/**
 * Invokes Lambda functions for `lambda:` steps and the runner. The SDK module is
 * loaded at the first invoke, not at a cold start: most jobs invoke no function
 * (bench/cold-start.ts).
 */
export interface LambdaInvoker {
  invoke(
    input: InvokeCommandInput,
    options: { abortSignal: AbortSignal },
  ): Promise<InvokeCommandOutput>;
  destroy(): void;
}

/**
 * Locally `endpoint` is serverless offline's Lambda port; on AWS it is unset and the
 * SDK's default applies. Credentials come from the default chain (the local stack
 * sets dummy AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; offline passes AWS_* through).
 */
export function createLambdaClient(
  config: Pick<Config, 'region' | 'lambdaEndpoint'>,
): LambdaInvoker {
  let client: LambdaClient | undefined;
  return {
    async invoke(input, options) {
      const sdk = cjsExports(await import('@aws-sdk/client-lambda'));
      client ??= new sdk.LambdaClient({
        region: config.region,
        ...(config.lambdaEndpoint ? { endpoint: config.lambdaEndpoint } : {}),
        // No SDK retries: a retry after a dropped connection would invoke the function
        // again; the step's own `retries` is the one policy for that.
        maxAttempts: 1,
      });
      return client.send(new sdk.InvokeCommand(input), options);
    },
    destroy() {
      client?.destroy();
    },
  };
}
