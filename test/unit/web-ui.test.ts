import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { RouteContext } from '../../lib/api/context.js';
import { type ApiResponse, HttpError } from '../../lib/api/http.js';
import { createRouter } from '../../lib/api/routes.js';
import { UI_ASSETS, UI_SCRIPT, UI_STYLE } from '../../lib/ui/assets.generated.js';
import { serveUi } from '../../lib/ui/serve.js';
import { ASSETS_FILE, uiModuleText } from '../../scripts/build-ui.js';
import { waitingReason } from '../../ui/waiting.js';

/** serveUi's answer for a path it serves. */
function served(path: string): ApiResponse {
  const res = serveUi(path);
  if (!res) throw new Error(`serveUi(${path}): nothing`);
  return res;
}

describe('web UI serving', () => {
  it('routes /ui and every page under it to the UI without a key', () => {
    const route = createRouter();
    for (const path of ['/ui', '/ui/', '/ui/runs/run_01', '/ui/workflows', '/ui/assets/x.js']) {
      expect(route('GET', path).entry.auth, path).toBe(false);
    }
    expect(() => route('POST', '/ui')).toThrow(HttpError);
  });

  it('serves the page shell with a strict CSP, naming the hashed assets', () => {
    const page = served('/ui/runs/run_01');
    expect(page.status).toBe(200);
    expect(page.headers?.['content-type']).toBe('text/html; charset=utf-8');
    const csp = page.headers?.['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(page.text).toContain(`/ui/assets/${UI_SCRIPT}`);
    expect(page.text).toContain(`/ui/assets/${UI_STYLE}`);
    expect(page.text).not.toMatch(/<script>|style=/);
  });

  it('serves assets as immutable and answers 404 for an unknown one', async () => {
    const js = served(`/ui/assets/${UI_SCRIPT}`);
    expect(js.headers?.['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers?.['cache-control']).toContain('immutable');
    expect(js.text).toBe(UI_ASSETS[UI_SCRIPT]?.body);
    expect(serveUi('/ui/assets/app-000.js')).toBeUndefined();
    // The route answers it (serve.ts returns nothing: it loads lazily, without HttpError).
    const path = '/ui/assets/app-000.js';
    const { entry } = createRouter()('GET', path);
    const req = { method: 'GET', path, headers: {}, query: {}, body: '' };
    await expect(entry.route({ req } as unknown as RouteContext)).rejects.toMatchObject({
      status: 404,
      detail: "no UI asset 'app-000.js'",
    });
  });

  it('the committed bundle is the build of the current ui/ sources (else: npm run build:ui)', async () => {
    expect(await readFile(ASSETS_FILE, 'utf8')).toBe(await uiModuleText());
  });
});

describe('waiting reasons in words', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  const text = (w: Parameters<typeof waitingReason>[0]) =>
    waitingReason(w, now)
      .map((p) => (typeof p === 'string' ? p : `<${p.run}>`))
      .join('');

  it('says who may approve, which signal, until when, and which runs hold a slot', () => {
    expect(text({ kind: 'approval', step: 'gate', approvers: ['ann', 'bob'] })).toBe(
      'Waiting for approval of step “gate” from ann or bob',
    );
    expect(text({ kind: 'approval', step: 'gate' })).toBe(
      'Waiting for approval of step “gate” from anyone with a key',
    );
    expect(text({ kind: 'signal', name: 'deployed', until: '2026-01-01T10:01:30Z' })).toMatch(
      /^Waiting for signal “deployed”, until .+ \(1m 30s left\)$/,
    );
    expect(text({ kind: 'sleep', until: '2026-01-01T10:00:05Z' })).toMatch(
      /^Sleeping until .+ \(5\.0 s left\)$/,
    );
    expect(
      text({ kind: 'concurrency', group: 'prod', heldBy: ['run_A', 'run_B'], position: 2 }),
    ).toBe(
      'Waiting for a slot of concurrency group “prod”, held by <run_A>, <run_B> (number 2 in line)',
    );
    expect(text({ kind: 'workflow', workflow: 'child', runId: 'run_C' })).toBe(
      'Waiting for child run <run_C> of workflow “child”',
    );
  });
});
