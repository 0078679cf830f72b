import type { App } from './app.js';
import type { Config } from './config.js';
import { createLambdaRunner } from './runner/lambda-runner.js';
import { createLocalRunner } from './runner/local-runner.js';
import type { StepExecutor } from './steps/executor.js';
import { createLambdaExecutor } from './steps/lambda.js';
import { createLambdaClient, type LambdaInvoker } from './steps/lambda-client.js';
import { createShellExecutor } from './steps/shell.js';

/** The app's own step executors: those that need its config and its Lambda client. */
export interface StepExecutors {
  lambda: LambdaInvoker;
  lambdaSteps: StepExecutor;
  shellSteps: StepExecutor;
}

/**
 * Built only where jobs run (the execute function, tests, benches): kept out of
 * lib/app.ts so submit and schedule, which run no step, do not load the runners
 * and `node:child_process` at a cold start (bench/README.md, cold start).
 */
export function createStepExecutors(config: Config): StepExecutors {
  const lambda = createLambdaClient(config);
  return {
    lambda,
    lambdaSteps: createLambdaExecutor({
      client: lambda,
      functionPrefix: config.lambdaPrefix,
      allow: config.lambdaAllow ?? [],
      runnerFunction: config.runnerFunction,
    }),
    shellSteps: createShellExecutor(
      config.runnerFunction
        ? createLambdaRunner({ client: lambda, functionName: config.runnerFunction })
        : createLocalRunner({ isolateNetwork: config.runnerNetwork !== 'shared' }),
    ),
  };
}

/** `app` with its step executors (closeApp destroys their Lambda client). */
export function withStepExecutors<A extends App>(app: A): A & StepExecutors {
  return Object.assign(app, createStepExecutors(app.config));
}
