import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { startTestApp } from '../support/engine.js';

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
        // Issue 8's shapes: flowline's own functions, globs, a shell step.
        'lambda:execute',
        'lambda:*',
        'shell',
      ][Math.floor(r() * 10)];
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
      ];
      const out: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 5); i++)
        out[keys[Math.floor(r() * keys.length)] as string] = randomValue(r, depth + 1);
      return out;
    }
  }
}

function randomBody(r: () => number): string {
  const kind = Math.floor(r() * 4);
  if (kind === 0) return '';
  if (kind === 1) return JSON.stringify(randomValue(r));
  if (kind === 2) return 'name: x\non: [\njobs: {a: {steps: [{uses: action:noop, if: "${{ ("}]}}\n';
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
          authorization: r() > 0.1 ? 'Bearer test-key-acme' : 'Bearer x',
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
      // 501 is the honest answer of routes later work builds (cancel, approvals, hooks…).
      const status =
        res.status === 501 && (res.body as { title?: string }).title === 'NOT_IMPLEMENTED'
          ? 0
          : res.status;
      expect(status, `${req.method} ${req.path} ${req.body.slice(0, 80)}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.headers?.['content-type']).toBe('application/problem+json');
    }
  });
});
