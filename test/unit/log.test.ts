import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * The log line (lib/log.ts): one JSON object per line in pino's shape (level
 * number, time, the fields, msg), secrets censored, errors cut to what a line can
 * carry. Read from what the logger actually writes to stdout and stderr.
 */

const saved = process.env.LOG_LEVEL;
afterEach(() => {
  process.env.LOG_LEVEL = saved;
  vi.restoreAllMocks();
});

/** A fresh logger at `level`; `lines()` are the JSON lines it wrote so far. */
async function loggerAt(level: string) {
  process.env.LOG_LEVEL = level;
  vi.resetModules();
  const written: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    });
  }
  const { log } = await import('../../lib/log.js');
  const lines = () =>
    written
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines };
}

describe('log lines', () => {
  it('are JSON: level number, time, the fields in order, msg; null and empty strings kept', async () => {
    const { log, lines } = await loggerAt('info');
    const before = Date.now();
    log.info(
      { runId: 'r1', job: 'build', attempt: 2, none: null, empty: '', gone: undefined },
      'job claimed',
    );
    const [line] = lines();
    expect(Object.keys(line ?? {})).toEqual([
      'level',
      'time',
      'runId',
      'job',
      'attempt',
      'none',
      'empty',
      'msg',
    ]);
    expect(line).toMatchObject({
      level: 30,
      runId: 'r1',
      job: 'build',
      attempt: 2,
      none: null,
      empty: '',
      msg: 'job claimed',
    });
    expect(line?.time).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ['debug', 20],
    ['info', 30],
    ['warn', 40],
    ['error', 50],
  ] as const)('%s lines carry level %d', async (method, level) => {
    const { log, lines } = await loggerAt('debug');
    log[method]('a message alone');
    expect(lines()).toEqual([{ level, time: expect.any(Number), msg: 'a message alone' }]);
  });

  it('keep below LOG_LEVEL out, and nothing at silent', async () => {
    const info = await loggerAt('info');
    info.log.debug({ a: 1 }, 'hidden');
    info.log.info({ a: 1 }, 'shown');
    expect(info.lines().map((l) => l.msg)).toEqual(['shown']);
    const silent = await loggerAt('silent');
    silent.log.error({ a: 1 }, 'hidden');
    expect(silent.lines()).toEqual([]);
  });

  it('never carry an authorization header or secrets, at any depth', async () => {
    const { log, lines } = await loggerAt('info');
    log.warn(
      {
        authorization: 'Bearer k1',
        headers: { authorization: 'Bearer k2', accept: 'json' },
        job: { secrets: { TOKEN: 's3' } },
        event: { headers: { Authorization: 'Bearer k4' }, Secrets: 's5' },
      },
      'request',
    );
    const [line] = lines();
    expect(JSON.stringify(line)).not.toMatch(/k1|k2|s3|k4|s5/);
    expect(line).toMatchObject({
      authorization: '***',
      headers: { authorization: '***', accept: 'json' },
      job: { secrets: '***' },
      event: { headers: { Authorization: '***' }, Secrets: '***' },
    });
  });

  it('a field cannot pass for the level or the time', async () => {
    const { log, lines } = await loggerAt('info');
    log.info({ level: 'fake', time: 0, message: 'kept as a field' }, 'm');
    expect(lines()[0]).toMatchObject({ level: 30, message: 'kept as a field', msg: 'm' });
    expect(lines()[0]?.time).not.toBe(0);
  });

  it('errors: type, message and stack with their causes, the command name only, long text cut', async () => {
    const { log, lines } = await loggerAt('info');
    const cause = new Error('socket closed');
    const err = Object.assign(new TypeError(`reply ${'x'.repeat(3_000)}`, { cause }), {
      command: { name: 'evalsha', args: ['sha', 'payload with a token'] },
      args: ['payload'],
      code: 'ECONNRESET',
    });
    log.error({ err, runId: 'r1' }, 'job task failed');
    const line = lines()[0] as { err: Record<string, unknown>; runId: string };
    expect(line.runId).toBe('r1');
    expect(line.err).toMatchObject({
      type: 'TypeError',
      command: { name: 'evalsha' },
      code: 'ECONNRESET',
    });
    expect(line.err.args).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('payload');
    expect(String(line.err.message)).toMatch(/^reply x+… \(\d+ chars\)$/);
    expect(String(line.err.message).length).toBeLessThan(2_100);
    expect(String(line.err.stack)).toContain('TypeError: reply');
    const short = await loggerAt('info');
    short.log.error({ err: new Error('outer', { cause }) }, 'failed');
    const shortErr = (short.lines()[0] as { err: Record<string, unknown> }).err;
    expect(shortErr.message).toBe('outer: socket closed');
    expect(String(shortErr.stack)).toContain('caused by: Error: socket closed');
  });

  it('errors that point back to themselves (a cause cycle, a field) are written once, not followed', async () => {
    const { log, lines } = await loggerAt('info');
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    const self = Object.assign(new Error('self'), { inner: undefined as unknown });
    self.inner = self;
    const deep = Array.from({ length: 50 }, (_, i) => new Error(`e${i}`)).reduceRight<
      Error | undefined
    >((cause, e) => Object.assign(e, { cause }), undefined) as Error;
    expect(() => log.error({ err: a }, 'cycle')).not.toThrow();
    expect(() => log.error({ err: self }, 'self')).not.toThrow();
    expect(() => log.error({ err: deep }, 'deep')).not.toThrow();
    const [cycle, selfLine, deepLine] = lines() as { err: Record<string, unknown> }[];
    expect(cycle?.err.message).toBe('a: b: ...');
    expect(selfLine?.err).toMatchObject({ message: 'self', inner: '[Circular]' });
    expect(String(deepLine?.err.message)).toBe(
      `e0: ${Array.from({ length: 10 }, (_, i) => `e${i + 1}`).join(': ')}: ...`,
    );
  });
});
