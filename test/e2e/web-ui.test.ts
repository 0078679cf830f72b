import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventDoc } from '../../lib/api/documents.js';
import { launchBrowser } from '../../scripts/browser.js';
import { callApi, useLocalStack } from '../support/e2e.js';

/**
 * The web UI in headless Chromium (Debian's package, driven by playwright-core)
 * against the local stack: a run waits at an approval, the page approves it and
 * follows every job to `succeeded` without a reload; a wrong key and an unknown
 * run show their states. Prints how long a status change took to reach the page.
 */
const RELEASE = `
name: release
on: { manual: true }
jobs:
  build:
    steps:
      - id: pack
        uses: action:echo
        with: { artifact: app.tgz }
  gate:
    needs: [build]
    steps:
      - id: ok
        uses: approval
  deploy:
    needs: [gate]
    strategy: { matrix: { region: [eu, us] } }
    steps:
      - id: ship
        uses: action:echo
        with: { region: "\${{ matrix.region }}" }
`;

describe('web UI in a browser', () => {
  let browser: ReturnType<typeof launchBrowser> | undefined;
  const problems: string[] = [];
  // Chromium starts while the stack does: this hook is registered first and does not wait.
  beforeAll(() => {
    browser = launchBrowser().then((b) => {
      b.context.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
      });
      b.context.on('weberror', (err) => problems.push(String(err.error())));
      return b;
    });
    browser.catch(() => undefined);
  });
  const stack = useLocalStack('web-ui');
  afterAll(async () => {
    await (await browser?.catch(() => undefined))?.close();
  });

  async function open(path: string): Promise<Page> {
    if (!browser) throw new Error('the browser has not been launched');
    const page = await (await browser).context.newPage();
    await page.goto(`${stack().apiUrl}${path}`);
    return page;
  }

  async function waitingRun(): Promise<string> {
    const api = (method: string, path: string, body?: string | object) =>
      callApi(stack(), method, path, body);
    expect((await api('PUT', '/v1/workflows/release', RELEASE)).status).toBe(201);
    const submitted = await api('POST', '/v1/workflows/release/runs', {});
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const id = submitted.body.id as string;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      const run = await api('GET', `/v1/runs/${id}`);
      if (run.body.jobs?.gate?.status === 'waiting') return id;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${id} never waited at its approval (log: ${stack().logFile})`);
  }

  it('approves a waiting run from the page and follows it to the end without a reload', async () => {
    const started = Date.now();
    const id = await waitingRun();
    const page = await open(`/ui/runs/${id}#key=${encodeURIComponent(stack().apiKey)}`);

    // The key moved from the fragment into localStorage, and out of the address bar.
    await page.locator('[data-job="gate"][data-status="waiting"]').waitFor({ timeout: 10_000 });
    expect(page.url()).not.toContain('key=');
    expect(await page.evaluate(() => localStorage.getItem('flowline.apiKey'))).toBe(stack().apiKey);

    await expect
      .poll(() =>
        page.locator('[data-job]').evaluateAll((els) => els.map((e) => e.getAttribute('data-job'))),
      )
      .toEqual(['build', 'gate', 'deploy[region=eu]', 'deploy[region=us]']);
    expect(await page.getAttribute('[data-job="build"]', 'data-status')).toBe('succeeded');
    expect(await page.getAttribute('[data-job="deploy[region=eu]"]', 'data-status')).toBe(
      'pending',
    );
    expect(await page.textContent('.waits')).toContain('Waiting for approval of step “ok”');
    expect(await page.locator('[data-step="ok"]').count()).toBe(1);

    // Record when each job's status first shows, and mark the document: a reload loses the mark.
    await page.evaluate(() => {
      const w = window as unknown as { seen: Record<string, number>; mark: boolean };
      w.mark = true;
      w.seen = {};
      const note = () => {
        for (const el of document.querySelectorAll('[data-job]')) {
          const key = `${el.getAttribute('data-job')} ${el.getAttribute('data-status')}`;
          w.seen[key] ??= Date.now();
        }
      };
      new MutationObserver(note).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['data-status'],
      });
    });

    const clicked = Date.now();
    await page.click('[data-action="approve"]');
    await page.waitForFunction(
      () => {
        const jobs = [...document.querySelectorAll('[data-job]')];
        return (
          jobs.length === 4 && jobs.every((e) => e.getAttribute('data-status') === 'succeeded')
        );
      },
      undefined,
      { timeout: 15_000 },
    );
    const done = Date.now();
    const { seen, mark } = await page.evaluate(() => {
      const w = window as unknown as { seen: Record<string, number>; mark?: boolean };
      return { seen: w.seen, mark: w.mark === true };
    });
    expect(mark).toBe(true);
    expect(await page.locator('[data-action="approve"]').count()).toBe(0);
    expect(await page.locator('[data-action="rerun"]').count()).toBe(1);

    // Latency: from each job.succeeded event's time to the moment the page showed it.
    const events = (await callApi(stack(), 'GET', `/v1/runs/${id}/events?limit=1000`)).body
      .items as EventDoc[];
    const lags = events
      .filter((e) => e.type === 'job.succeeded' && e.job && e.job !== 'build')
      .map((e) => {
        const shown = seen[`${e.job} succeeded`];
        expect(shown, `${e.job} succeeded never showed`).toBeTypeOf('number');
        return (shown as number) - Date.parse(e.at);
      });
    expect(lags).toHaveLength(3);
    console.log(
      `web UI: approve click → all jobs succeeded on the page in ${done - clicked} ms; ` +
        `status change → page ${Math.min(...lags)}-${Math.max(...lags)} ms ` +
        `(${lags.length} changes); test body ${Date.now() - started} ms`,
    );
    expect(Math.max(...lags)).toBeLessThan(2000);
    expect(problems).toEqual([]);

    // Rerun from the page: a new run, which waits at the gate again; cancel it from the page.
    await page.click('[data-action="rerun"]');
    await page.waitForURL(
      (url) => url.pathname.startsWith('/ui/runs/') && !url.pathname.endsWith(id),
    );
    await page.locator('[data-job="gate"][data-status="waiting"]').waitFor({ timeout: 15_000 });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('[data-action="cancel"]');
    await page.locator('[data-job="gate"][data-status="cancelled"]').waitFor({ timeout: 10_000 });
    await page.locator('h1 .badge.s-cancelled').waitFor({ timeout: 5000 });
    await page.close();
  }, 50_000);

  it('lists the run on the runs page and the workflow on the workflows page', async () => {
    const runs = await open('/ui?workflow=release');
    await runs.locator('tr[data-run] .badge.s-succeeded').first().waitFor({ timeout: 5000 });
    const workflows = await open('/ui/workflows');
    await workflows.click('[data-workflow="release"] button');
    await workflows.getByText('Spec of revision 1').waitFor({ timeout: 5000 });
    await Promise.all([runs.close(), workflows.close()]);
  });

  it('shows "key rejected" for a wrong key and "not found" for an unknown run', async () => {
    const wrong = 'not-a-valid-key-123';
    const rejected = await open(`/ui#key=${wrong}`);
    await rejected.locator('[data-state="key-rejected"]').waitFor({ timeout: 5000 });
    expect(await rejected.textContent('body')).not.toContain(wrong);

    const missing = await open(
      `/ui/runs/run_00000000000000000000000000#key=${encodeURIComponent(stack().apiKey)}`,
    );
    await missing.locator('[data-state="not-found"]').waitFor({ timeout: 5000 });
    const body = (await missing.textContent('body')) ?? '';
    expect(body).toContain('Not found');
    expect(body).not.toContain(stack().apiKey);
    await Promise.all([rejected.close(), missing.close()]);
  });
});
