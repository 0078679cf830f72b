import { FlowlineError } from '../errors.js';
import { createLocalRunner } from '../runner/local-runner.js';
import { RUNNER_OUTPUT_CAP_BYTES, type Runner } from '../runner/model.js';
import {
  abortError,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';

export { DEFAULT_SHELL_PATH } from '../runner/run-command.js';
export const SHELL_OUTPUT_CAP_BYTES = RUNNER_OUTPUT_CAP_BYTES;

/**
 * `uses: shell` / `builtin:shell`: `/bin/sh -c <command>` in the runner, outside the
 * engine's trust boundary (SPEC.md "Capabilities and isolation"): the `runner` Lambda
 * on AWS, this process's sandbox locally.
 */
export function createShellExecutor(runner: Runner): StepExecutor {
  return {
    async run(req: StepRequest): Promise<StepOutputs> {
      const { command, cwd } = req.with;
      if (typeof command !== 'string' || command === '') {
        throw new FlowlineError('VALIDATION', "shell step: 'with.command' must be a string");
      }
      if (cwd !== undefined && typeof cwd !== 'string') {
        throw new FlowlineError('VALIDATION', "shell step: 'with.cwd' must be a string");
      }
      if (req.signal.aborted) throw abortError(req.signal);

      let result: Awaited<ReturnType<Runner['run']>>;
      try {
        result = await runner.run(
          {
            command,
            env: req.env,
            ...(cwd === undefined ? {} : { cwd }),
            ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }),
          },
          req.signal,
        );
      } catch (err) {
        if (req.signal.aborted) throw abortError(req.signal);
        if (err instanceof FlowlineError) throw err;
        throw new StepFailedError(
          `the runner failed: ${err instanceof Error ? err.message : String(err)}`,
          undefined,
          'STEP_FAILED',
          { cause: err },
        );
      }
      if ('startError' in result) {
        throw new StepFailedError(
          `command could not start${cwd === undefined ? '' : ` in '${cwd}'`}: ${result.startError}`,
        );
      }
      const outputs: StepOutputs = {
        exitCode: result.exitCode,
        stdout: result.stdout,
        stderr: result.stderr,
      };
      if (result.timedOut) {
        throw new StepFailedError(
          `step timed out after ${req.timeoutMs ?? 0}ms`,
          outputs,
          'TIMEOUT',
        );
      }
      if (result.exitCode === 0) return outputs;
      const message =
        result.signal === undefined
          ? `command exited with code ${result.exitCode}`
          : `command was killed by signal ${result.signal}`;
      throw new StepFailedError(message, outputs);
    },
  };
}

/** Shell steps in this process's sandbox: what the local stack and tests use. */
export const shellExecutor: StepExecutor = createShellExecutor(createLocalRunner());
