import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createLocalRunner } from '../lib/runner/local-runner.js';
import type { RunnerResult } from '../lib/runner/model.js';
import { RunnerRequestSchema } from '../lib/runner/request.js';

/** Time kept to answer after killing a command that ran out of the invocation's time. */
const ANSWER_MARGIN_MS = 2_000;

// No config: this function has no flowline setting, no permissions and no VPC; only
// the local sandbox's network choice (README "Runner"), which Lambda has no use for.
const runner = createLocalRunner({
  isolateNetwork: process.env.FLOWLINE_RUNNER_NETWORK !== 'shared',
});

/**
 * The `runner` function: runs one `shell` step's command for the execute function
 * (lib/runner/lambda-runner.ts) and answers `{exitCode, stdout, stderr}`. The command
 * is killed at the step's budget or before this invocation would time out, whichever
 * comes first; an execute that gave up waiting (cancel) leaves it to that deadline.
 */
export const handler = middy<unknown, RunnerResult, Error, Context>().handler(
  async (event, context) => {
    const req = RunnerRequestSchema.parse(event);
    const left = Math.max(1, context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS);
    const timeoutMs = Math.min(req.timeoutMs ?? left, left);
    return runner.run({ ...req, timeoutMs }, new AbortController().signal);
  },
);
