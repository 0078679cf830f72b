import * as z from 'zod/mini';
import '../zod-messages.js';

/**
 * What the engine hands the runner and gets back (SPEC.md: `shell` steps run in the
 * `runner` function). A leaf module: the Lambda event, the local runner and the
 * shell executor all speak these shapes.
 */

/** stdout and stderr are each cut here (SPEC.md: 64 KiB). */
export const RUNNER_OUTPUT_CAP_BYTES = 64 * 1024;

/** A command above this is refused; the spec itself is capped at 256 KiB. */
const MAX_COMMAND_BYTES = 256 * 1024;

export const RunnerRequestSchema = z.strictObject({
  command: z.string().check(
    z.minLength(1),
    z.refine((c) => Buffer.byteLength(c) <= MAX_COMMAND_BYTES, 'command too long'),
  ),
  /** The step's own env (workflow → job → step), nothing of the engine's. */
  env: z._default(z.record(z.string(), z.string()), {}),
  cwd: z.optional(z.string().check(z.minLength(1))),
  /** The step's time budget: the runner kills the command's processes when it runs out. */
  timeoutMs: z.optional(z.number().check(z.positive())),
});
export type RunnerRequest = z.input<typeof RunnerRequestSchema>;

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
