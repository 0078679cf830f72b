import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../lib/api/body.js';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest, ApiResponse } from '../../lib/api/http.js';
import type { App } from '../../lib/app.js';
import { startTestApp } from '../support/engine.js';
import { keysUnder } from '../support/stack.js';

/**
 * Every route that takes a JSON body reads it through one helper (lib/api/body.ts
 * `requestBody`): each answers a malformed, a too deeply nested and a misshapen body
 * with the same problem documents, before it looks anything up, and writes nothing.
 */
const RUN = 'run_01JD0000000000000000000000';
const ROUTES: [string, string][] = [
  ['submit a registered workflow', '/v1/workflows/nope/runs'],
  ['submit an inline spec', '/v1/runs'],
  ['cancel', `/v1/runs/${RUN}/cancel`],
  ['rerun', `/v1/runs/${RUN}/rerun`],
  ['approve', `/v1/runs/${RUN}/approvals/gate`],
  ['signal', `/v1/runs/${RUN}/signals/go`],
];

let app: App;
let handle: (req: ApiRequest) => Promise<ApiResponse>;

beforeAll(async () => {
  app = await startTestApp();
  handle = createApi(app);
});

const post = (path: string, body: string) =>
  handle({
    method: 'POST',
    path,
    headers: { authorization: 'Bearer test-key-acme' },
    query: {},
    body,
  });

const keysNow = () => keysUnder(app.redis, `${app.config.keyPrefix}:*`);

describe.each(ROUTES)('POST to %s (%s)', (_, path) => {
  it('answers malformed JSON with 400 Malformed JSON', async () => {
    const before = await keysNow();
    const res = await post(path, '{"a":');
    expect(res.status).toBe(400);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({
      type: 'about:blank',
      title: 'Malformed JSON',
      status: 400,
      errors: [{ path: '', message: 'body is not valid JSON' }],
    });
    expect(await keysNow()).toEqual(before);
  });

  it(`answers JSON nested deeper than ${MAX_JSON_DEPTH} with 400 Too deeply nested`, async () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    const res = await post(path, deep);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      title: 'Too deeply nested',
      errors: [{ path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    });
  });

  it('answers a body of the wrong shape with 422 naming the field', async () => {
    const before = await keysNow();
    const res = await post(path, JSON.stringify({ unexpected: 1 }));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      title: 'Invalid request body',
      detail: 'the body does not match the expected shape',
    });
    const { errors } = res.body as { errors: { path: string; message: string }[] };
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => typeof e.path === 'string' && e.message !== '')).toBe(true);
    expect(await keysNow()).toEqual(before);
  });
});
