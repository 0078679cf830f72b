import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { runUntilFinished, startTestApp } from '../support/engine.js';

/** Small seeded PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  '/v1/workflows/:x',
  '/v1/workflows',
  '/v1/workflows/:x/runs',
  '/v1/runs',
  '/v1/runs/:x',
  '/v1/runs/:x/events',
  '/v1/runs/:x/cancel',
  '/v1/runs/:x/approvals/:x',
  '/v1/runs/:x/signals/:x',
  '/v1/health',
  '/v1/hooks/:x/:x',
  '/v1/:x',
  '/:x',
];
const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];
const SIGNATURES = [
  `sha256=${'0'.repeat(64)}`,
  `t=1,v1=${'a'.repeat(64)}`,
  `t=${'9'.repeat(40)},v1=${'a'.repeat(64)}`,
  't=,v1=',
];
const SEGMENTS = [
  'diamond',
  'run_01JD0000000000000000000000',
  '%00',
  '..',
  'a'.repeat(400),
  '{x}',
  'ü',
  '',
];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 4 ? 5 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() > 0.5;
    case 2:
      return Math.floor(r() * 1e6) * (r() > 0.5 ? -1 : 1);
    case 3:
      return [
        '',
        '${{',
        '${{ inputs.x }}',
        'action:echo',
        'plugin:x',
        '__proto__',
        'x'.repeat(5000),
        // secrets and injection shapes
        '${{ secrets.TOKEN }}',
        'deploy ${{ inputs.ref }} ${{ trigger.payload.x }}',
        'https://${{ steps.a.outputs.host }}/x',
        'release-manager',
        'shell',
        // flowline's own functions, globs
        'lambda:execute',
        'lambda:*',
      ][Math.floor(r() * 14)];
    case 4:
      return 'z';
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const keys = [
        'name',
        'on',
        'jobs',
        'steps',
        'uses',
        'needs',
        'inputs',
        'env',
        'spec',
        'a',
        '__proto__',
        'if',
        'with',
        'secrets',
        'command',
        'url',
        'approve',
        'actor',
        'approvers',
        'payload',
      ];
      const out: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 5); i++)
        out[keys[Math.floor(r() * keys.length)] as string] = randomValue(r, depth + 1);
      return out;
    }
  }
}

/** Valid specs that declare and use secrets, pass them to a child, or interpolate untrusted text. */
const HOSTILE_SPECS = [
  'name: x\non: { manual: true }\nsecrets: [TOKEN]\nenv: { T: "${{ secrets.TOKEN }}" }\njobs: { a: { steps: [{ uses: shell, with: { command: "echo $T" } }] } }\n',
  'name: x\non: { manual: true }\nsecrets: [TOKEN]\njobs: { a: { steps: [{ uses: "workflow:x", with: { inputs: { t: "${{ secrets.TOKEN }}" }, secrets: [TOKEN, NOPE] } }] } }\n',
  'name: x\non: { manual: true }\ninputs: { ref: { type: string } }\njobs: { a: { steps: [{ uses: shell, with: { command: "git checkout ${{ inputs.ref }}" } }, { uses: http, with: { url: "https://${{ inputs.ref }}/" } }] } }\n',
  'name: x\non: { manual: true }\nsecrets: [TOKEN]\njobs: { a: { steps: [{ uses: approval, with: { approvers: ["${{ secrets.TOKEN }}"] } }, { uses: signal, with: { name: "${{ secrets.TOKEN }}" } }] } }\n',
];

function randomBody(r: () => number): string {
  const kind = Math.floor(r() * 7);
  if (kind === 0) return '';
  if (kind === 1 || kind === 4) return JSON.stringify(randomValue(r));
  if (kind === 2) return 'name: x\non: [\njobs: {a: {steps: [{uses: action:noop, if: "${{ ("}]}}\n';
  if (kind === 5) return HOSTILE_SPECS[Math.floor(r() * HOSTILE_SPECS.length)] as string;
  if (kind === 6) {
    const spec = HOSTILE_SPECS[Math.floor(r() * HOSTILE_SPECS.length)] as string;
    return JSON.stringify(r() > 0.5 ? { spec } : { approve: r() > 0.5, actor: randomValue(r) });
  }
  return Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256))).toString('latin1');
}

describe('the API under random input', () => {
  let app: App;
  let handle: (req: ApiRequest) => Promise<ApiResponse>;
  beforeAll(async () => {
    app = await startTestApp();
    handle = createApi(app);
  });

  it('never answers 5xx, and every error is a problem document', async () => {
    const r = rng(20261125);
    for (let i = 0; i < 400; i++) {
      const path = (PATHS[Math.floor(r() * PATHS.length)] as string).replace(
        /:x/g,
        () => SEGMENTS[Math.floor(r() * SEGMENTS.length)] as string,
      );
      const req: ApiRequest = {
        method: METHODS[Math.floor(r() * METHODS.length)] as string,
        path,
        headers: {
          authorization: AUTHORIZATIONS[Math.floor(r() * AUTHORIZATIONS.length)] as string,
          'content-type': r() > 0.5 ? 'application/yaml' : 'application/json',
          ...(r() > 0.8 ? { 'idempotency-key': r() > 0.5 ? 'k' : ' ' } : {}),
          ...(r() > 0.7
            ? { 'x-flowline-signature': SIGNATURES[Math.floor(r() * 4)] as string }
            : {}),
        },
        query:
          r() > 0.5
            ? { limit: String(Math.floor(r() * 300) - 50), after: 'x', cursor: 'y', status: 'z' }
            : {},
        body: randomBody(r),
      };
      const res = await handle(req);
      expect(res.status, `${req.method} ${req.path} ${req.body.slice(0, 80)}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.headers?.['content-type']).toBe('application/problem+json');
    }
  });

  it.each([
    ['missing', undefined],
    ['malformed', 'acme:long-enough-key,acme/Not A Name:another-key'],
  ])(
    'with a %s key list answers 503 API keys unavailable to every request, never a 500',
    async (_, list) => {
      const broken = createApi(await startTestApp({ apiKeys: list, apiKeysSecret: undefined }));
      const r = rng(20261202);
      for (let i = 0; i < 60; i++) {
        const res = await broken({
          method: 'POST',
          path: `/v1/runs/run_01JD0000000000000000000000/approvals/gate`,
          headers: {
            authorization: AUTHORIZATIONS[Math.floor(r() * AUTHORIZATIONS.length)] as string,
          },
          query: {},
          body: randomBody(r),
        });
        // A body over the limit is refused before auth (413); anything else waits for keys.
        expect([413, 503]).toContain(res.status);
        if (res.status === 503) {
          expect(res.body).toMatchObject({ title: 'API keys unavailable' });
          expect(JSON.stringify(res.body)).not.toContain('another-key');
        }
      }
      const health = await broken({
        method: 'GET',
        path: '/v1/health',
        headers: {},
        query: {},
        body: '',
      });
      expect(health.status).toBe(503);
      expect((health.body as { apiKeys: string }).apiKeys).toMatch(/^(missing|malformed: )/);
    },
  );
});

/** Unnamed and named keys, key-list syntax and junk where a bearer key goes. */
const AUTHORIZATIONS = [
  'Bearer test-key-acme',
  'Bearer test-key-acme',
  'Bearer test-key-acme-dev',
  'Bearer test-key-acme-release-manager',
  'Bearer test-key-globex',
  'bearer test-key-acme',
  'Bearer x',
  'Bearer acme/dev:test-key-acme-dev',
  'Bearer acme:test-key-acme',
  'Bearer ',
  `Bearer ${'k'.repeat(10_000)}`,
  'Basic dGVzdC1rZXktYWNtZQ==',
];

describe('the API under bounds-breaking input (issue 9)', () => {
  it('deep nesting, huge aliases, cursor and id garbage are 4xx; a normal run still succeeds', async () => {
    const app = await startTestApp();
    const handle = createApi(app);
    const auth = { authorization: 'Bearer test-key-acme', 'content-type': 'application/json' };
    const req = (method: string, path: string, body = '', extra = {}, query = {}): ApiRequest => ({
      method,
      path,
      headers: { ...auth, ...extra },
      query,
      body,
    });
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const deepObj = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const laughs = [
      'name: laughs',
      'on: { manual: true }',
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...'bcdefghi'.split('').map((c, i) => {
        const prev = 'abcdefghi'[i] as string;
        return `${c}: &${c} [${Array.from({ length: 10 }, () => `*${prev}`).join(',')}]`;
      }),
      'jobs: { a: { steps: [{ uses: action:noop }] } }',
    ].join('\n');
    const wide = `name: wide\non: { manual: true }\nx: &x "${'y'.repeat(60_000)}"\njobs:\n  a: { steps: [{ uses: action:echo, with: { v: [*x, *x, *x, *x, *x] } }] }\n`;
    // A live run that waits for a signal: garbage aimed at it reaches Redis, not a 404.
    const waiting = await handle(
      req(
        'POST',
        '/v1/runs',
        JSON.stringify({
          spec: 'name: waits\non: { manual: true }\njobs:\n  gate: { steps: [{ uses: approval }] }\n  j: { needs: [gate], steps: [{ uses: signal, with: { name: go } }] }\n',
        }),
      ),
    );
    expect(waiting.status).toBe(202);
    const run = (waiting.body as { id: string }).id;
    const okSpec =
      'name: ok\non: { manual: true }\njobs: { a: { steps: [{ uses: action:noop }] } }\n';
    const cases: ApiRequest[] = [
      req('POST', '/v1/runs', `{"spec":${JSON.stringify(okSpec)},"inputs":{"a":${deep(5_000)}}}`, {
        'idempotency-key': 'deep-1',
      }),
      req('POST', '/v1/runs', `{"spec":${JSON.stringify(okSpec)},"inputs":{"a":${deep(5_000)}}}`),
      req('POST', '/v1/runs', `{"spec":"x","inputs":{"a":${deep(5_000)}}}`),
      req('POST', '/v1/runs', `{"spec":"x","inputs":${deepObj(70)}}`),
      req('POST', '/v1/runs', deep(200_000)),
      req('POST', `/v1/runs/${run}/rerun`, `{"inputs":${deepObj(1_000)}}`),
      req('POST', `/v1/runs/${run}/signals/go`, `{"payload":${deep(10_000)}}`),
      req('POST', '/v1/hooks/acme/x', deep(10_000), { 'x-flowline-signature': 'sha256=00' }),
      req('PUT', '/v1/workflows/laughs', laughs, { 'content-type': 'application/yaml' }),
      req('PUT', '/v1/workflows/wide', wide, { 'content-type': 'application/yaml' }),
      req('POST', '/v1/runs', JSON.stringify({ spec: laughs })),
      req(
        'GET',
        `/v1/runs/${run}/events`,
        '',
        {},
        { after: '18446744073709551615-18446744073709551615' },
      ),
      req('GET', `/v1/runs/${run}/events`, '', {}, { after: '99999999999999999999-0' }),
      req('GET', `/v1/runs/${run}/events`, '', {}, { after: '-1' }),
      ...['}x', '{x', '%7Dx', 'run_', `${run}}`, 'x'.repeat(300)].flatMap((id) => [
        req('GET', `/v1/runs/${id}`),
        req('GET', `/v1/runs/${id}/events`),
        req('POST', `/v1/runs/${id}/cancel`, '{}'),
        req('POST', `/v1/runs/${id}/signals/go`, '{}'),
        req('POST', `/v1/runs/${id}/approvals/s`, '{"approve":true}'),
        req('POST', `/v1/runs/${id}/rerun`, '{}'),
      ]),
      req('GET', '/v1/runs', '', {}, { cursor: '}x' }),
    ];
    for (const c of cases) {
      const res = await handle(c);
      expect(res.status, `${c.method} ${c.path} ${JSON.stringify(c.query)}`).toBeGreaterThanOrEqual(
        400,
      );
      expect(res.status, `${c.method} ${c.path} ${JSON.stringify(c.query)}`).toBeLessThan(500);
    }
    const ok = await handle(req('POST', '/v1/runs', JSON.stringify({ spec: okSpec })));
    expect(ok.status).toBe(202);
    const id = (ok.body as { id: string }).id;
    expect(await runUntilFinished(app, 'acme', id)).toBe('succeeded');
  });
});
