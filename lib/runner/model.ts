import type { RunnerRequest } from './request.js';

export type { RunnerRequest };

/**
 * What the engine hands the runner and gets back (SPEC.md: `shell` steps run in the
 * `runner` function). A leaf module: the Lambda event, the local runner and the
 * shell executor all speak these shapes.
 */

/** stdout and stderr are each cut here (SPEC.md: 64 KiB). */
export const RUNNER_OUTPUT_CAP_BYTES = 64 * 1024;

export type RunnerResult =
  | {
      /** The shell's exit code; 128 + n when signal n killed it. */
      exitCode: number;
      /** Set when a signal ended the shell. */
      signal?: string;
      /** True when the runner killed it at `timeoutMs`. */
      timedOut?: boolean;
      stdout: string;
      stderr: string;
    }
  | {
      /** The command could not be started (a missing cwd, no /bin/sh). */
      startError: string;
    };

/** Runs one command outside the engine: in this process's sandbox, or in the runner Lambda. */
export interface Runner {
  /** Aborting `signal` abandons the command: the runner kills it (locally at once). */
  run(req: RunnerRequest, signal: AbortSignal): Promise<RunnerResult>;
}
