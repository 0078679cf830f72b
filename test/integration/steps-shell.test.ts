import { chmod, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowlineError } from '../../lib/errors.js';
import { runWithTimeout, StepFailedError, type StepRequest } from '../../lib/steps/index.js';
import { SHELL_OUTPUT_CAP_BYTES, shellExecutor } from '../../lib/steps/shell.js';
import { failure, stepRequest } from '../support/steps.js';

let dir: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'flowline-shell-')));
  // Commands run as an unprivileged uid when the tests run as root.
  await chmod(dir, 0o777);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function request(w: Record<string, unknown>, overrides: Partial<StepRequest> = {}): StepRequest {
  return stepRequest(
    {
      uses: 'shell',
      with: w,
      env: {},
      idempotencyKey: 'run-1:build:0',
      signal: new AbortController().signal,
      capabilities: new Set(['shell']),
    },
    overrides,
  );
}

/**
 * Live (not zombie) `sleep <marker>` processes, found from this side of the sandbox:
 * a command's own `$$` is its pid inside its PID namespace.
 */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''),
    ]);
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (cmdline === `sleep\0${marker}\0` && state !== 'Z') found.push(Number(entry));
  }
  return found;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A `sleep` no other process runs: `sleep 30.<random digits>`. */
function uniqueSleep(): { command: string; marker: string } {
  const marker = `30.${Math.floor(Math.random() * 1e9)}`;
  return { command: `sleep ${marker}`, marker };
}

const running = (marker: string) =>
  waitFor(async () => ((await processesWith(marker)).length > 0 ? true : undefined));
const gone = (marker: string) =>
  waitFor(async () => ((await processesWith(marker)).length === 0 ? true : undefined), 2000);

describe('shell step against /bin/sh', () => {
  it.each<[string, string, string]>([
    ['echo hello', 'hello\n', ''],
    ['echo oops >&2', '', 'oops\n'],
    ['printf "%s-%s" a b', 'a-b', ''],
    ['echo "$FOO $BAR"', 'foo bar\n', ''],
    ['command -v ls >/dev/null && echo has-path', 'has-path\n', ''],
    ['echo "${FLOWLINE_LEAK_PROBE:-not leaked}"', 'not leaked\n', ''],
  ])('%s → stdout %j stderr %j', async (command, stdout, stderr) => {
    process.env.FLOWLINE_LEAK_PROBE = 'leaked';
    try {
      const outputs = await shellExecutor.run(
        request({ command }, { env: { FOO: 'foo', BAR: 'bar' } }),
      );
      expect(outputs).toEqual({ exitCode: 0, stdout, stderr });
    } finally {
      delete process.env.FLOWLINE_LEAK_PROBE;
    }
  });

  it('runs in with.cwd', async () => {
    const outputs = await shellExecutor.run(request({ command: 'pwd', cwd: dir }));
    expect(outputs.stdout).toBe(`${dir}\n`);
  });

  it.each<[string, number, string | RegExp]>([
    ['exit 3', 3, 'command exited with code 3'],
    ['echo partial; echo why >&2; exit 1', 1, 'command exited with code 1'],
    ['false', 1, 'command exited with code 1'],
    // In a PID namespace the command's shell is not the process that reports (README "Runner").
    ['kill -9 $$', 137, /^command (was killed by signal SIGKILL|exited with code 137)$/],
    ['no-such-command-xyz', 127, 'command exited with code 127'],
  ])('%s → fails with exit code %i and keeps outputs', async (command, exitCode, message) => {
    const err = await failure(shellExecutor.run(request({ command })));
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toMatch(message);
    expect((err as StepFailedError).outputs).toMatchObject({ exitCode });
  });

  it('keeps the output of a failing command', async () => {
    const err = await failure(
      shellExecutor.run(request({ command: 'echo partial; echo why >&2; exit 1' })),
    );
    expect((err as StepFailedError).outputs).toEqual({
      exitCode: 1,
      stdout: 'partial\n',
      stderr: 'why\n',
    });
  });

  it.each(['stdout', 'stderr'])('cuts %s at 64 KiB', async (stream) => {
    const redirect = stream === 'stderr' ? ' >&2' : '';
    const outputs = await shellExecutor.run(
      request({ command: `head -c 200000 /dev/zero | tr '\\0' a${redirect}` }),
    );
    expect(outputs[stream]).toHaveLength(SHELL_OUTPUT_CAP_BYTES);
    expect(outputs.exitCode).toBe(0);
  });

  it('fails to start in a missing cwd', async () => {
    const err = await failure(
      shellExecutor.run(request({ command: 'true', cwd: join(dir, 'missing') })),
    );
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toContain('could not start');
  });

  it('kills every process of the command on abort, quickly', async () => {
    const sleep = uniqueSleep();
    const controller = new AbortController();
    const started = Date.now();
    const run = shellExecutor.run(
      request(
        { command: `${sleep.command} & ${sleep.command}; wait` },
        { signal: controller.signal },
      ),
    );
    await running(sleep.marker);
    expect(await processesWith(sleep.marker)).toHaveLength(2);

    controller.abort(new FlowlineError('CANCELLED', 'run cancelled'));
    const err = await failure(run);
    expect(err.code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(3000);
    await gone(sleep.marker);
  });

  it('times out sleep 30 through runWithTimeout and leaves no process', async () => {
    const sleep = uniqueSleep();
    const { signal: _s, ...req } = request({ command: `exec ${sleep.command}` });
    const started = Date.now();
    // TIMEOUT, not an exit: the sleep was still running when the step ran out of time.
    const err = await failure(runWithTimeout(shellExecutor, req, 300));
    expect(err.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    await gone(sleep.marker);
  });

  it('ends background jobs the command leaves behind', async () => {
    const sleep = uniqueSleep();
    const started = Date.now();
    const outputs = await shellExecutor.run(
      request({ command: `${sleep.command} & sleep 0.2; echo done` }),
    );
    expect(outputs).toMatchObject({ exitCode: 0, stdout: 'done\n' });
    expect(Date.now() - started).toBeLessThan(3000);
    await gone(sleep.marker);
  });

  it('does not start when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const pidFile = join(dir, 'never.pids');
    const err = await failure(
      shellExecutor.run(request({ command: `echo x > ${pidFile}` }, { signal: controller.signal })),
    );
    expect(err.code).toBe('CANCELLED');
    await expect(readFile(pidFile, 'utf8')).rejects.toThrow();
  });

  it.each([[{}], [{ command: 42 }], [{ command: 'true', cwd: 1 }]])(
    'refuses with %j as VALIDATION',
    async (w) => {
      expect((await failure(shellExecutor.run(request(w)))).code).toBe('VALIDATION');
    },
  );
});
