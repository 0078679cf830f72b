import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CappedText } from '../steps/capped-text.js';
import { RUNNER_OUTPUT_CAP_BYTES, type RunnerResult } from './model.js';
import type { Sandbox } from './sandbox.js';

/**
 * PATH for commands when the step's env has none. Fixed rather than inherited: the
 * runner's own environment (credentials included) never reaches a command.
 * `/var/lang/bin` is where Lambda's node lives.
 */
export const DEFAULT_SHELL_PATH =
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/var/lang/bin:/opt/bin';

/** How long to wait for a killed process to be reaped before giving up on it. */
const REAP_GRACE_MS = 1000;

export interface CommandSpec {
  command: string;
  env: Record<string, string>;
  cwd: string;
  /** HOME of the command: its scratch directory. */
  home: string;
  timeoutMs?: number | undefined;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    // Negative pid: the whole process group (spawned detached, so the sandbox's first
    // process leads its own group), so `a | b` and background jobs die with it.
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * Run one command in `sandbox` with nothing of this process's environment: only
 * PATH, HOME, LANG and the step's own env. Resolves with its exit code and capped
 * output (also for a non-zero exit or the runner's own deadline); rejects with the
 * signal's reason once `signal` aborts, after the processes are killed and reaped.
 */
export function runCommand(
  spec: CommandSpec,
  sandbox: Sandbox,
  signal: AbortSignal,
): Promise<RunnerResult> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<RunnerResult>((resolve, reject) => {
    const stdout = new CappedText(RUNNER_OUTPUT_CAP_BYTES);
    const stderr = new CappedText(RUNNER_OUTPUT_CAP_BYTES);
    const [file, args] = sandbox.argv(spec.command);
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: { PATH: DEFAULT_SHELL_PATH, LANG: 'C.UTF-8', HOME: spec.home, ...spec.env },
      ...(sandbox.uid === undefined ? {} : { uid: sandbox.uid }),
      ...(sandbox.gid === undefined ? {} : { gid: sandbox.gid }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let settled = false;
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const deadline =
      spec.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => {
              timedOut = true;
              killGroup(child.pid);
            },
            Math.min(spec.timeoutMs, 2 ** 31 - 1),
          );

    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(graceTimer);
      clearTimeout(deadline);
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      killGroup(child.pid);
      const err: unknown = signal.reason;
      if (exit !== undefined || child.pid === undefined) {
        finish(() => reject(err));
        return;
      }
      // Reject once the first process is reaped, so no zombie outlives the step;
      // give up waiting after a grace period.
      child.once('exit', () => finish(() => reject(err)));
      graceTimer = setTimeout(() => finish(() => reject(err)), REAP_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      finish(() => resolve({ startError: err.message }));
    });
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      if (signal.aborted) return;
      // Background jobs the command left behind would hold the pipes open (and
      // outlive the step in a frozen Lambda): end them with the shell.
      killGroup(child.pid);
    });
    child.on('close', () => {
      if (signal.aborted || exit === undefined) return;
      const { code, signal: sig } = exit;
      const exitCode = code ?? 128 + (sig === null ? 0 : (constants.signals[sig] ?? 0));
      finish(() =>
        resolve({
          exitCode,
          ...(sig === null ? {} : { signal: sig }),
          ...(timedOut ? { timedOut } : {}),
          stdout: stdout.text(),
          stderr: stderr.text(),
        }),
      );
    });
  });
}
