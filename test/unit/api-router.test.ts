import FindMyWay from 'find-my-way';
import { describe, expect, it } from 'vitest';
import { createRouteTable, MAX_PARAM_LENGTH } from '../../lib/api/router.js';

/**
 * lib/api/router.ts replaced find-my-way (cold start): the same answers for the
 * API's own route table, path by path, including the odd ones (encodings, slashes,
 * long parameters, queries) the API fuzz test sends.
 */
const ROUTES: [string, string][] = [
  ['GET', '/v1/health'],
  ['PUT', '/v1/workflows/:name'],
  ['GET', '/v1/workflows'],
  ['GET', '/v1/workflows/:name'],
  ['POST', '/v1/workflows/:name/runs'],
  ['POST', '/v1/runs'],
  ['GET', '/v1/runs'],
  ['GET', '/v1/runs/:runId'],
  ['GET', '/v1/runs/:runId/events'],
  ['POST', '/v1/runs/:runId/cancel'],
  ['POST', '/v1/runs/:runId/approvals/:stepId'],
  ['POST', '/v1/runs/:runId/signals/:name'],
  ['POST', '/v1/runs/:runId/rerun'],
  ['POST', '/v1/hooks/:tenant/:name'],
  ['GET', '/ui'],
  ['GET', '/ui/*'],
];

const long = 'a'.repeat(MAX_PARAM_LENGTH);
const PATHS = [
  '/v1/health',
  '/v1/health/',
  '/v1/health//',
  '/v1/health?x=1',
  '/v1/health#top',
  '/v1/health;x',
  '/V1/health',
  '//v1/health',
  'v1/health',
  '/',
  '',
  '/v1',
  '/v1/',
  '/v1/workflows',
  '/v1/workflows/',
  '/v1/workflows/nightly',
  '/v1/workflows/nightly/',
  '/v1/workflows/nightly/runs',
  '/v1/workflows/nightly/runs/',
  '/v1/workflows/nightly/runs/x',
  '/v1/workflows/night%20ly',
  '/v1/workflows/a%2Fb',
  '/v1/workflows/a%2fb/runs',
  '/v1/workflows/%41',
  '/v1/workflows/%E2%82%AC',
  '/v1/workflows/%',
  '/v1/workflows/%zz',
  '/v1/workflows/a%25b',
  '/v1/workflows/a%3Fb',
  '/v1/workflows/a+b',
  '/v1/%77orkflows/x',
  `/v1/workflows/${long}`,
  `/v1/workflows/${long}a`,
  `/v1/workflows/${long.slice(2)}%41`,
  '/v1/workflows//runs',
  '/v1/workflows//',
  '/v1/hooks//',
  '/ui//',
  '/v1/runs',
  '/v1/runs/',
  '/v1/runs/run_01HZX3J5V4K1G6Q9W8E7R2T0YA',
  '/v1/runs/run_01HZX3J5V4K1G6Q9W8E7R2T0YA/events',
  '/v1/runs/run_01HZX3J5V4K1G6Q9W8E7R2T0YA/events/',
  '/v1/runs/run_x/cancel',
  '/v1/runs/r/approvals/s',
  '/v1/runs/r/approvals/',
  '/v1/runs/r/signals/go',
  '/v1/runs/r/rerun',
  '/v1/runs//events',
  '/v1/hooks/acme/deploy',
  '/v1/hooks/acme',
  '/ui',
  '/ui/',
  '/ui/app.js',
  '/ui/assets/a.css',
  '/ui/a%20b',
  '/uix',
];

describe('the route table answers as find-my-way did', () => {
  const fmw = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH });
  const table = createRouteTable<string>();
  for (const [method, pattern] of ROUTES) {
    fmw.on(method as 'GET', pattern, () => undefined, { key: `${method} ${pattern}` });
    table.on(method, pattern, `${method} ${pattern}`);
  }
  const methods = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];
  it.each(PATHS)('%s', (path) => {
    for (const method of methods) {
      const expected = fmw.find(method as 'GET', path);
      const got = table.find(method, path);
      expect(got && { key: got.value, params: got.params }, `${method} ${path}`).toEqual(
        expected
          ? { key: (expected.store as { key: string }).key, params: { ...expected.params } }
          : undefined,
      );
    }
  });
});
