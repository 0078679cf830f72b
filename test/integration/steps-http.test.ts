import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HTTP_BODY_CAP_BYTES, httpExecutor } from '../../lib/steps/http.js';
import { runWithTimeout, StepFailedError, type StepRequest } from '../../lib/steps/index.js';
import { failure, stepRequest } from '../support/steps.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
    const json = (status: number, value: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extra });
      res.end(JSON.stringify(value));
    };
    switch (url.pathname) {
      case '/echo':
        json(200, { method: req.method, headers: req.headers, body });
        return;
      case '/text':
        res.writeHead(200, { 'content-type': 'text/plain', 'X-Custom-Header': 'Yes' });
        res.end('hello');
        return;
      case '/problem':
        res.writeHead(422, { 'content-type': 'application/problem+json' });
        res.end('{"title":"bad"}');
        return;
      case '/broken-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"not json');
        return;
      case '/status':
        json(Number(url.searchParams.get('code')), { error: 'as asked' });
        return;
      case '/no-content':
        res.writeHead(204);
        res.end();
        return;
      case '/big':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('a'.repeat(300 * 1024));
        return;
      case '/slow': {
        const timer = setTimeout(() => json(200, { late: true }), 5000);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case '/redirect':
        res.writeHead(Number(url.searchParams.get('code') ?? 302), {
          location: url.searchParams.get('to') ?? '/echo',
        });
        res.end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        res.end();
        return;
      default:
        json(404, { error: 'no route' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

const LOCAL = new Set(['http', 'private-network']);

function request(w: Record<string, unknown>, overrides: Partial<StepRequest> = {}): StepRequest {
  return stepRequest(
    {
      uses: 'http',
      with: w,
      env: {},
      idempotencyKey: 'run-1:deploy:push',
      signal: new AbortController().signal,
      capabilities: LOCAL,
    },
    overrides,
  );
}

describe('http step against a local server', () => {
  it('GETs, sends the idempotency key and parses a JSON answer', async () => {
    const outputs = await httpExecutor.run(request({ url: `${base}/echo` }));
    expect(outputs.status).toBe(200);
    expect(outputs.body).toMatchObject({
      method: 'GET',
      headers: { 'idempotency-key': 'run-1:deploy:push' },
    });
    expect(outputs.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
    expect(typeof outputs.durationMs).toBe('number');
  });

  it('sends the same idempotency key on every retry', async () => {
    await httpExecutor.run(request({ url: `${base}/echo` }));
    await httpExecutor.run(request({ url: `${base}/echo` }));
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual([
      'run-1:deploy:push',
      'run-1:deploy:push',
    ]);
  });

  it('keeps an Idempotency-Key the step sets itself', async () => {
    await httpExecutor.run(
      request({ url: `${base}/echo`, headers: { 'Idempotency-Key': 'mine' } }),
    );
    expect(seen[0]?.headers['idempotency-key']).toBe('mine');
  });

  it.each<[string, unknown, string, string]>([
    ['an object as JSON', { ref: 'main', n: 1 }, '{"ref":"main","n":1}', 'application/json'],
    ['an array as JSON', [1, 2], '[1,2]', 'application/json'],
    ['a string as it is', 'raw=1', 'raw=1', 'text/plain;charset=UTF-8'],
  ])('POSTs %s', async (_label, body, sent, contentType) => {
    await httpExecutor.run(
      request({ url: `${base}/echo`, method: 'post', body, headers: { 'X-Trace': 7 } }),
    );
    expect(seen[0]).toMatchObject({ method: 'POST', body: sent });
    expect(seen[0]?.headers['content-type']).toBe(contentType);
    expect(seen[0]?.headers['x-trace']).toBe('7');
  });

  it('does not override a content-type the step sets', async () => {
    await httpExecutor.run(
      request({
        url: `${base}/echo`,
        method: 'PUT',
        body: { a: 1 },
        headers: { 'content-type': 'application/merge-patch+json' },
      }),
    );
    expect(seen[0]?.headers['content-type']).toBe('application/merge-patch+json');
  });

  it.each<[string, string, unknown]>([
    ['text stays text', '/text', 'hello'],
    ['+json is parsed', '/problem', { title: 'bad' }],
    ['broken JSON stays text', '/broken-json', '{"not json'],
    ['no content is an empty string', '/no-content', ''],
  ])('%s', async (_label, path, body) => {
    const outputs = await httpExecutor.run(
      request({ url: `${base}${path}`, expectStatus: [200, 204, 422] }),
    );
    expect(outputs.body).toEqual(body);
  });

  it('lower-cases response header names', async () => {
    const outputs = await httpExecutor.run(request({ url: `${base}/text` }));
    expect(outputs.headers).toMatchObject({ 'x-custom-header': 'Yes' });
  });

  it.each<[number, unknown, boolean]>([
    [200, undefined, true],
    [201, undefined, true],
    [299, undefined, true],
    [302, undefined, false],
    [404, undefined, false],
    [500, undefined, false],
    [404, 404, true],
    [200, 404, false],
    [201, [200, 201], true],
    [202, [200, 201], false],
  ])('status %i with expectStatus %j → success %s', async (code, expectStatus, ok) => {
    const run = httpExecutor.run(request({ url: `${base}/status?code=${code}`, expectStatus }));
    if (ok) {
      await expect(run).resolves.toMatchObject({ status: code });
      return;
    }
    const err = await failure(run);
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toContain(`answered ${code}`);
    expect(err.message).not.toContain('code='); // the query string may carry secrets
    expect((err as StepFailedError).outputs).toMatchObject({
      status: code,
      body: { error: 'as asked' },
    });
  });

  it('cuts a large body at 256 KiB', async () => {
    const outputs = await httpExecutor.run(request({ url: `${base}/big` }));
    expect(outputs.body).toHaveLength(HTTP_BODY_CAP_BYTES);
  });

  it('fails TIMEOUT after with.timeoutMs on a slow endpoint', async () => {
    const started = Date.now();
    const err = await failure(httpExecutor.run(request({ url: `${base}/slow`, timeoutMs: 200 })));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('http request timed out after 200ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('honours the step signal through runWithTimeout', async () => {
    const started = Date.now();
    const { signal: _s, ...req } = request({ url: `${base}/slow` });
    const err = await failure(runWithTimeout(httpExecutor, req, 200));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('step timed out after 200ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops on cancel', async () => {
    const parent = new AbortController();
    const { signal: _s, ...req } = request({ url: `${base}/slow` });
    const run = runWithTimeout(httpExecutor, req, undefined, parent.signal);
    setTimeout(() => parent.abort(), 50);
    expect((await failure(run)).code).toBe('CANCELLED');
  });

  it('fails STEP_FAILED when nothing listens', async () => {
    const err = await failure(httpExecutor.run(request({ url: 'http://127.0.0.1:1/' })));
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toContain('GET http://127.0.0.1:1/ failed');
  });
});

describe('http step network permissions', () => {
  it.each(['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]'])(
    'refuses %s without private-network, before any request',
    async (host) => {
      const port = (server.address() as AddressInfo).port;
      const err = await failure(
        httpExecutor.run(
          request({ url: `http://${host}:${port}/echo` }, { capabilities: new Set(['http']) }),
        ),
      );
      expect(err.code).toBe('CAPABILITY_DENIED');
      expect(err.message).toContain("'private-network'");
      expect(seen).toEqual([]);
    },
  );

  it('reaches loopback with private-network', async () => {
    const port = (server.address() as AddressInfo).port;
    const outputs = await httpExecutor.run(request({ url: `http://localhost:${port}/echo` }));
    expect(outputs.status).toBe(200);
  });

  it('refuses a host outside permissions.hosts', async () => {
    const err = await failure(
      httpExecutor.run(request({ url: `${base}/echo` }, { allowedHosts: ['localhost'] })),
    );
    expect(err.code).toBe('CAPABILITY_DENIED');
    expect(err.message).toContain('permissions.hosts');
    expect(seen).toEqual([]);
  });

  it('checks every redirect hop against permissions.hosts', async () => {
    const port = (server.address() as AddressInfo).port;
    const to = encodeURIComponent(`http://127.0.0.1:${port}/echo`);
    const err = await failure(
      httpExecutor.run(
        request(
          { url: `http://localhost:${port}/redirect?to=${to}` },
          { allowedHosts: ['localhost'] },
        ),
      ),
    );
    expect(err.code).toBe('CAPABILITY_DENIED');
    expect(seen.map((s) => s.path)).toEqual(['/redirect']);
  });

  it('follows a 303 after POST as GET, dropping body and credentials across origins', async () => {
    const port = (server.address() as AddressInfo).port;
    const to = encodeURIComponent(`http://localhost:${port}/echo`);
    const outputs = await httpExecutor.run(
      request({
        url: `${base}/redirect?code=303&to=${to}`,
        method: 'POST',
        body: { a: 1 },
        headers: { Authorization: 'Bearer t' },
      }),
    );
    expect(outputs.body).toMatchObject({ method: 'GET', body: '' });
    const echoed = (outputs.body as { headers: Record<string, string> }).headers;
    expect(echoed.authorization).toBeUndefined();
    expect(echoed['idempotency-key']).toBe('run-1:deploy:push');
  });

  it('keeps method and body through a 307', async () => {
    const outputs = await httpExecutor.run(
      request({ url: `${base}/redirect?code=307&to=/echo`, method: 'POST', body: { a: 1 } }),
    );
    expect(outputs.body).toMatchObject({ method: 'POST', body: '{"a":1}' });
  });

  it('gives up after 5 redirects', async () => {
    const err = await failure(httpExecutor.run(request({ url: `${base}/loop` })));
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toContain('redirected more than 5 times');
    expect(seen).toHaveLength(6);
  });
});
