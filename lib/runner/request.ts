import * as z from 'zod/mini';
import '../zod-messages.js';

/**
 * The runner's request, checked where a command is about to run (the runner
 * function, the local runner). Its own module, apart from model.ts: the engine's
 * shell executor needs only the shapes, and zod stays out of the engine's init.
 */

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
