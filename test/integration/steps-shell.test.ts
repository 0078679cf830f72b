import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowlineError } from '../../lib/errors.js';
import {
  runWithTimeout,
  StepFailedError,
  type StepRequest,
  shellExecutor,
} from '../../lib/steps/index.js';
import { SHELL_OUTPUT_CAP_BYTES } from '../../lib/steps/shell.js';
import { failure, stepRequest } from '../support/steps.js';

let dir: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'flowline-shell-')));
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

/** Alive and not a zombie (PID 1 in a container may never reap orphans). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
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

async function pidsFrom(file: string): Promise<number[]> {
  return waitFor(async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return text.endsWith('\n') ? text.trim().split(/\s+/).map(Number) : undefined;
  });
}

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

  it.each<[string, number, string]>([
    ['exit 3', 3, 'command exited with code 3'],
    ['echo partial; echo why >&2; exit 1', 1, 'command exited with code 1'],
    ['false', 1, 'command exited with code 1'],
    ['kill -9 $$', 137, 'command was killed by signal SIGKILL'],
    ['no-such-command-xyz', 127, 'command exited with code 127'],
  ])('%s → fails with exit code %i and keeps outputs', async (command, exitCode, message) => {
    const err = await failure(shellExecutor.run(request({ command })));
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toBe(message);
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

  it('kills the whole process group on abort, quickly', async () => {
    const pidFile = join(dir, 'abort.pids');
    const controller = new AbortController();
    const started = Date.now();
    const run = shellExecutor.run(
      request(
        { command: `sleep 30 & echo "$$ $!" > ${pidFile}; wait` },
        { signal: controller.signal },
      ),
    );
    const pids = await pidsFrom(pidFile);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(await isAlive(pid)).toBe(true);

    controller.abort(new FlowlineError('CANCELLED', 'run cancelled'));
    const err = await failure(run);
    expect(err.code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(3000);
    for (const pid of pids)
      await waitFor(async () => ((await isAlive(pid)) ? undefined : true), 2000);
  });

  it('times out sleep 30 through runWithTimeout and leaves no process', async () => {
    const pidFile = join(dir, 'timeout.pids');
    const { signal: _s, ...req } = request({ command: `echo "$$" > ${pidFile}; exec sleep 30` });
    const started = Date.now();
    const err = await failure(runWithTimeout(shellExecutor, req, 300));
    expect(err.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    const [pid] = await pidsFrom(pidFile);
    expect(pid).toBeDefined();
    await waitFor(async () => ((await isAlive(pid ?? 0)) ? undefined : true), 2000);
  });

  it('ends background jobs the command leaves behind', async () => {
    const pidFile = join(dir, 'background.pids');
    const started = Date.now();
    const outputs = await shellExecutor.run(
      request({ command: `sleep 30 & echo "$!" > ${pidFile}; echo done` }),
    );
    expect(outputs).toMatchObject({ exitCode: 0, stdout: 'done\n' });
    expect(Date.now() - started).toBeLessThan(3000);
    const [pid] = await pidsFrom(pidFile);
    await waitFor(async () => ((await isAlive(pid ?? 0)) ? undefined : true), 2000);
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
