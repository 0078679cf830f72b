import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../log.js';
import type { Runner, RunnerRequest } from './model.js';
import { runCommand } from './run-command.js';
import { detectSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';

export interface LocalRunner extends Runner {
  /** The isolation this machine gives commands (detected at first use). */
  sandbox(): Promise<Sandbox>;
}

/**
 * Runs commands in this process's sandbox (lib/runner/sandbox.ts): the runner
 * function's way on AWS, and the local stack's, tests' and serverless offline's.
 * Each command gets a fresh scratch directory as HOME (and cwd unless it names
 * one), owned by the sandbox's uid and removed after it.
 */
export function createLocalRunner(options: SandboxOptions = {}): LocalRunner {
  let detected: Promise<Sandbox> | undefined;
  const sandbox = () => {
    detected ??= detectSandbox(options).then((s) => {
      log.info({ uid: s.uid, namespaces: s.namespaces }, 'runner sandbox');
      return s;
    });
    return detected;
  };
  return {
    sandbox,
    async run(raw: RunnerRequest, signal: AbortSignal) {
      // Loaded at the first command: zod stays out of the engine functions' init.
      const { RunnerRequestSchema } = await import('./request.js');
      const req = RunnerRequestSchema.parse(raw);
      const box = await sandbox();
      const home = await mkdtemp(join(tmpdir(), 'flowline-step-'));
      try {
        if (box.uid !== undefined) await chown(home, box.uid, box.gid ?? box.uid);
        return await runCommand(
          {
            command: req.command,
            env: req.env,
            cwd: req.cwd ?? home,
            home,
            timeoutMs: req.timeoutMs,
          },
          box,
          signal,
        );
      } finally {
        await rm(home, { recursive: true, force: true }).catch(() => undefined);
      }
    },
  };
}
