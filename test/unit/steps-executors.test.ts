import { afterEach, describe, expect, it, vi } from 'vitest';
import { getAction, listActions, registerAction } from '../../lib/actions/registry.js';
import { FlowlineError } from '../../lib/errors.js';
import { actionExecutor } from '../../lib/steps/action.js';
import { CappedText } from '../../lib/steps/capped-text.js';
import { createHttpExecutor, httpExecutor } from '../../lib/steps/http.js';
import {
  EXECUTORS,
  executorFor,
  runWithTimeout,
  STEP_KINDS,
  type StepExecutor,
  StepFailedError,
  type StepRequest,
} from '../../lib/steps/index.js';
import { parseUses } from '../../lib/steps/kinds.js';
import { shellExecutor } from '../../lib/steps/shell.js';
import { failure, stepRequest } from '../support/steps.js';

function request(overrides: Partial<StepRequest> = {}): StepRequest {
  return stepRequest(
    {
      uses: 'action:noop',
      with: {},
      env: {},
      idempotencyKey: 'run1:build:compile',
      signal: new AbortController().signal,
      capabilities: new Set(),
    },
    overrides,
  );
}

describe('executorFor', () => {
  it.each([
    ['http', httpExecutor],
    ['shell', shellExecutor],
    ['builtin:shell', shellExecutor],
    ['action:echo', actionExecutor],
    ['action:whatever', actionExecutor],
  ])('%s → its executor, from the step-kind table', (uses, executor) => {
    const ref = parseUses(uses);
    if (typeof ref === 'string') throw new Error(ref);
    expect(STEP_KINDS[ref.kind].runBy).toBe('executor');
    expect(EXECUTORS[ref.kind as keyof typeof EXECUTORS]).toBe(executor);
  });

  it('runs the loaded executor: action:echo gives its with', async () => {
    const w = { message: 'hi' };
    await expect(
      executorFor('action:echo').run(request({ uses: 'action:echo', with: w })),
    ).resolves.toEqual(w);
  });

  it('runs an executor given for the kind instead of loading one', async () => {
    const own: StepExecutor = { run: async () => ({ own: true }) };
    const req = request({ uses: 'http', capabilities: new Set(['http']) });
    await expect(executorFor('http', { http: own }).run(req)).resolves.toEqual({ own: true });
  });

  it.each(['sleep', 'approval', 'builtin:approval', 'signal', 'workflow:smoke-tests'])(
    '%s → rejects INTERNAL: the engine itself runs waits',
    async (uses) => {
      const err = await failure(executorFor(uses).run(request({ uses })));
      expect(err.code).toBe('INTERNAL');
    },
  );

  it.each(['plugin:kb/build', 'action:', 'builtin:http', 'curl'])(
    '%s → rejects VALIDATION with the spec’s message for it',
    async (uses) => {
      const err = await failure(executorFor(uses).run(request({ uses })));
      expect(err.code).toBe('VALIDATION');
      expect(err.message).toBe(parseUses(uses));
    },
  );
});

describe('built-in actions', () => {
  it.each([
    ['action:echo', { message: 'hi', n: 2 }, { message: 'hi', n: 2 }],
    ['action:noop', { ignored: true }, {}],
    ['action:sleep-ms', { ms: 5 }, { sleptMs: 5 }],
  ])('%s with %j → %j', async (uses, w, outputs) => {
    await expect(actionExecutor.run(request({ uses, with: w }))).resolves.toEqual(outputs);
  });

  it.each([
    [{ message: 'boom' }, 'boom'],
    [{}, 'failed'],
  ])('fail with %j → StepFailedError %s', async (w, message) => {
    const err = await failure(actionExecutor.run(request({ uses: 'action:fail', with: w })));
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toBe(message);
  });

  it('an unknown action fails STEP_FAILED naming the known ones', async () => {
    const err = await failure(actionExecutor.run(request({ uses: 'action:nope' })));
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toBe("unknown action 'nope'; known actions: echo, fail, noop, sleep-ms");
  });

  it('sleep-ms stops when its signal aborts, with the abort reason', async () => {
    const controller = new AbortController();
    const run = actionExecutor.run(
      request({ uses: 'action:sleep-ms', with: { ms: 10_000 }, signal: controller.signal }),
    );
    controller.abort(new FlowlineError('TIMEOUT', 'step timed out after 1ms'));
    const err = await failure(run);
    expect(err.code).toBe('TIMEOUT');
  });
});

describe('registerAction', () => {
  it('registers, passes with and context, and unregisters', async () => {
    const fn = vi.fn((w: Record<string, unknown>, ctx: { idempotencyKey: string }) => ({
      got: w.x,
      key: ctx.idempotencyKey,
    }));
    const unregister = registerAction('test-ctx', fn);
    try {
      const outputs = await actionExecutor.run(
        request({ uses: 'action:test-ctx', with: { x: 1 }, env: { A: 'b' } }),
      );
      expect(outputs).toEqual({ got: 1, key: 'run1:build:compile' });
      expect(fn.mock.calls[0]?.[1]).toMatchObject({ env: { A: 'b' } });
      expect(listActions()).toContain('test-ctx');
    } finally {
      unregister();
    }
    expect(getAction('test-ctx')).toBeUndefined();
  });

  it.each([
    ['echo', 'CONFLICT'],
    ['bad name', 'VALIDATION'],
    ['', 'VALIDATION'],
  ])('refuses %j with %s', (name, code) => {
    expect(() => registerAction(name, () => ({}))).toThrowError(
      expect.objectContaining({ code }) as Error,
    );
  });

  it.each([
    [undefined, {}],
    [null, {}],
  ])('an action returning %j has outputs %j', async (returned, outputs) => {
    const unregister = registerAction('test-returns', () => returned as undefined);
    try {
      await expect(actionExecutor.run(request({ uses: 'action:test-returns' }))).resolves.toEqual(
        outputs,
      );
    } finally {
      unregister();
    }
  });

  it('an action returning a non-object fails the step', async () => {
    const unregister = registerAction('test-string', () => 'x' as unknown as undefined);
    try {
      const err = await failure(actionExecutor.run(request({ uses: 'action:test-string' })));
      expect(err.code).toBe('STEP_FAILED');
    } finally {
      unregister();
    }
  });
});

describe('runWithTimeout', () => {
  const { signal: _omit, ...base } = request();
  const ignoresSignal: StepExecutor = { run: () => new Promise(() => {}) };

  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the outputs of a step that finishes in time', async () => {
    await expect(
      runWithTimeout(
        executorFor('action:echo'),
        { ...base, uses: 'action:echo', with: { a: 1 } },
        1000,
      ),
    ).resolves.toEqual({ a: 1 });
  });

  it('rejects TIMEOUT even when the executor ignores its signal', async () => {
    const started = Date.now();
    const err = await failure(runWithTimeout(ignoresSignal, base, 30));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('step timed out after 30ms');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('aborts the executor signal with the TIMEOUT error as reason', async () => {
    let seen: AbortSignal | undefined;
    const executor: StepExecutor = {
      run: (req) => {
        seen = req.signal;
        return new Promise((_, reject) => {
          req.signal.addEventListener('abort', () => reject(new Error('aborted differently')));
        });
      },
    };
    const err = await failure(runWithTimeout(executor, base, 10));
    expect(err.code).toBe('TIMEOUT');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(err);
  });

  it.each<[string, unknown, string]>([
    ['a plain abort', undefined, 'CANCELLED'],
    ['a FlowlineError reason', new FlowlineError('TIMEOUT', 'job timed out'), 'TIMEOUT'],
  ])('a parent abort with %s → %s', async (_label, reason, code) => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    const executor: StepExecutor = {
      run: (req) => {
        seen = req.signal;
        return new Promise(() => {});
      },
    };
    const run = runWithTimeout(executor, base, undefined, parent.signal);
    parent.abort(reason);
    const err = await failure(run);
    expect(err.code).toBe(code);
    // The cancel reaches the step's own work too (its signal), with the same error.
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(err);
  });

  it('does not start the step when the parent is already aborted', async () => {
    const parent = new AbortController();
    parent.abort();
    const run = vi.fn(() => Promise.resolve({}));
    const err = await failure(runWithTimeout({ run }, base, 1000, parent.signal));
    expect(err.code).toBe('CANCELLED');
    expect(run).not.toHaveBeenCalled();
  });

  it('passes an executor failure through', async () => {
    const err = await failure(
      runWithTimeout(executorFor('action:fail'), { ...base, uses: 'action:fail' }, 1000),
    );
    expect(err).toBeInstanceOf(StepFailedError);
  });

  it.each([undefined, 2 ** 31])('arms no timer for timeoutMs %s', async (timeoutMs) => {
    vi.useFakeTimers();
    const run = runWithTimeout(executorFor('action:noop'), base, timeoutMs);
    expect(vi.getTimerCount()).toBe(0);
    await expect(run).resolves.toEqual({});
  });
});

describe('capabilities', () => {
  it.each([
    ['http', { url: 'http://127.0.0.1:1/' }],
    ['shell', { command: 'touch /tmp/should-not-exist' }],
    ['builtin:shell', { command: 'true' }],
  ])('%s without its capability → CAPABILITY_DENIED before any I/O', async (uses, w) => {
    const lookup = vi.fn(() => Promise.resolve(['8.8.8.8']));
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      const executor = executorFor(uses, { http: createHttpExecutor({ lookup }) });
      const err = await failure(
        executor.run(request({ uses, with: w, capabilities: new Set(['lambda']) })),
      );
      expect(err.code).toBe('CAPABILITY_DENIED');
      expect(err.message).toContain(`'${uses}' steps need`);
      expect(lookup).not.toHaveBeenCalled();
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('http to a host outside permissions.hosts → CAPABILITY_DENIED before DNS', async () => {
    const lookup = vi.fn(() => Promise.resolve(['8.8.8.8']));
    const err = await failure(
      createHttpExecutor({ lookup }).run(
        request({
          uses: 'http',
          with: { url: 'https://evil.example.net/' },
          capabilities: new Set(['http']),
          allowedHosts: ['*.example.org'],
        }),
      ),
    );
    expect(err.code).toBe('CAPABILITY_DENIED');
    expect(lookup).not.toHaveBeenCalled();
  });

  it.each([[['93.184.216.34', '10.0.0.5']], [['::ffff:169.254.169.254']], [[]]])(
    'http to a name resolving to %j needs private-network',
    async (addresses) => {
      const fetchSpy = vi.spyOn(globalThis, 'fetch');
      try {
        const err = await failure(
          createHttpExecutor({ lookup: () => Promise.resolve(addresses) }).run(
            request({
              uses: 'http',
              with: { url: 'https://rebind.example.com/' },
              capabilities: new Set(['http']),
            }),
          ),
        );
        expect(err.code).toBe('CAPABILITY_DENIED');
        expect(fetchSpy).not.toHaveBeenCalled();
      } finally {
        fetchSpy.mockRestore();
      }
    },
  );
});

describe('http with validation', () => {
  it.each([
    [{}, "'with.url' must be a string"],
    [{ url: 'not a url' }, 'not a valid URL'],
    [{ url: 'file:///etc/passwd' }, 'http or https'],
    [{ url: 'http://x.test/', method: 'GE T' }, 'method'],
    [{ url: 'http://x.test/', body: { a: 1 } }, 'GET request has no body'],
    [{ url: 'http://x.test/', timeoutMs: 0 }, 'timeoutMs'],
    [{ url: 'http://x.test/', expectStatus: [] }, 'expectStatus'],
    [{ url: 'http://x.test/', expectStatus: '200' }, 'expectStatus'],
    [{ url: 'http://x.test/', headers: 'x' }, 'headers'],
  ])('%j → VALIDATION (%s)', async (w, message) => {
    const err = await failure(
      httpExecutor.run(request({ uses: 'http', with: w, capabilities: new Set(['http']) })),
    );
    expect(err.code).toBe('VALIDATION');
    expect(err.message).toContain(message);
  });
});

describe('CappedText', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it.each([
    ['under the cap', ['abc', 'de'], 10, 'abcde', false],
    ['exactly the cap', ['abcde'], 5, 'abcde', false],
    ['over the cap', ['abc', 'defgh'], 5, 'abcde', true],
    ['a multi-byte character cut at the cap', ['aé'], 2, 'a', true],
    ['a multi-byte character whole at the cap', ['aé'], 3, 'aé', false],
  ])('%s', (_label, chunks, cap, text, truncated) => {
    const capped = new CappedText(cap);
    for (const c of chunks) capped.push(bytes(c));
    expect(capped.text()).toBe(text);
    expect(capped.truncated).toBe(truncated);
  });
});
