import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { FlowlineError } from '../errors.js';
import { CappedText } from './capped-text.js';
import {
  abortError,
  requireCapability,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';

export const SHELL_OUTPUT_CAP_BYTES = 64 * 1024;

/**
 * PATH for commands when the step's env has none. Fixed rather than inherited: `lib/`
 * never reads process.env, and the Lambda environment (credentials included) must not
 * leak into user commands. `/var/lang/bin` is where Lambda's node lives.
 */
export const DEFAULT_SHELL_PATH =
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/var/lang/bin:/opt/bin';

/** How long to wait for a killed process to be reaped before giving up on it. */
const REAP_GRACE_MS = 1000;

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    // Negative pid: the whole process group (spawned detached, so the shell leads
    // its own group), so `sh -c 'a | b'` and background jobs die with it.
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

/** `uses: shell` / `builtin:shell`: `/bin/sh -c <command>`. */
export const shellExecutor: StepExecutor = {
  async run(req: StepRequest): Promise<StepOutputs> {
    requireCapability(req, 'shell');
    const { command, cwd } = req.with;
    if (typeof command !== 'string' || command === '') {
      throw new FlowlineError('VALIDATION', "shell step: 'with.command' must be a string");
    }
    if (cwd !== undefined && typeof cwd !== 'string') {
      throw new FlowlineError('VALIDATION', "shell step: 'with.cwd' must be a string");
    }
    if (req.signal.aborted) throw abortError(req.signal);

    return await new Promise<StepOutputs>((resolve, reject) => {
      const stdout = new CappedText(SHELL_OUTPUT_CAP_BYTES);
      const stderr = new CappedText(SHELL_OUTPUT_CAP_BYTES);
      const child = spawn('/bin/sh', ['-c', command], {
        cwd,
        env: { PATH: DEFAULT_SHELL_PATH, ...req.env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let settled = false;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let graceTimer: NodeJS.Timeout | undefined;

      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(graceTimer);
        req.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const outputs = (exitCode: number): StepOutputs => ({
        exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
      });
      const onAbort = () => {
        killGroup(child.pid);
        const err = abortError(req.signal);
        if (exit !== undefined || child.pid === undefined) {
          finish(() => reject(err));
          return;
        }
        // Reject once the shell is reaped, so no zombie outlives the step; give up
        // waiting after a grace period.
        child.once('exit', () => finish(() => reject(err)));
        graceTimer = setTimeout(() => finish(() => reject(err)), REAP_GRACE_MS);
      };
      req.signal.addEventListener('abort', onAbort, { once: true });

      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (err) => {
        finish(() =>
          reject(
            new StepFailedError(
              `command could not start${cwd === undefined ? '' : ` in '${cwd}'`}: ${err.message}`,
              undefined,
              'STEP_FAILED',
              { cause: err },
            ),
          ),
        );
      });
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        if (req.signal.aborted) return;
        // Background jobs the command left behind would hold the pipes open (and
        // outlive the step in a frozen Lambda): end them with the shell.
        killGroup(child.pid);
      });
      child.on('close', () => {
        if (req.signal.aborted || exit === undefined) return;
        const { code, signal } = exit;
        if (code === 0) {
          finish(() => resolve(outputs(0)));
          return;
        }
        const exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
        const message =
          code === null
            ? `command was killed by signal ${signal ?? 'unknown'}`
            : `command exited with code ${code}`;
        finish(() => reject(new StepFailedError(message, outputs(exitCode))));
      });
    });
  },
};
