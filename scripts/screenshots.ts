// `node --import tsx scripts/screenshots.ts`: the README's pictures of the web UI
// (docs/ui-run.png, docs/ui-run-done.png, docs/ui-runs.png), taken in the same
// headless Chromium as the browser test, on a local stack of their own.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launchBrowser } from './browser.js';
import { ROOT, startStack } from './stack.js';

const RELEASE = `
name: release
version: "2.4.0"
on: { manual: true }
inputs:
  version: { type: string, default: "2.4.0" }
jobs:
  build:
    steps:
      - id: compile
        uses: shell
        with: { command: "echo 'compiling flowline \${{ inputs.version }}'; echo 'bundle: 412 KiB (gzip 118 KiB)'; echo 'warning: 2 unused exports' >&2" }
      - id: pack
        uses: action:echo
        with: { artifact: "app-\${{ inputs.version }}.tgz" }
    outputs: { artifact: "\${{ steps.pack.outputs.artifact }}" }
  lint:
    needs: [build]
    steps:
      - id: check
        uses: action:echo
        with: { files: 214, problems: 0 }
  test:
    needs: [build]
    strategy: { matrix: { shard: [1, 2, 3] } }
    steps:
      - id: unit
        uses: action:echo
        with: { shard: "\${{ matrix.shard }}", passed: 120 }
  approve:
    needs: [lint, test]
    steps:
      - id: release-gate
        name: Release gate
        uses: approval
        with: { timeoutSeconds: 86400 }
  deploy:
    needs: [approve]
    strategy: { matrix: { region: [eu-west-1, us-east-1] } }
    steps:
      - id: ship
        uses: action:echo
        with: { region: "\${{ matrix.region }}", approvedBy: "\${{ needs.approve.result }}" }
`;

const NIGHTLY = `
name: nightly
on: { manual: true }
jobs:
  fetch:
    steps:
      - { id: pull, uses: action:echo, with: { rows: 1200 } }
  load:
    needs: [fetch]
    steps:
      - { id: write, uses: action:fail, with: { message: "warehouse refused the batch: quota exceeded" } }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stack = await startStack({
  readyTimeoutMs: 180_000,
  logFile: join(ROOT, '.flowline', 'screenshots.log'),
});
const browser = await launchBrowser();
try {
  const api = async (method: string, path: string, body?: unknown, yaml = false) => {
    const res = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${stack.apiKey}`,
        'content-type': yaml ? 'application/yaml' : 'application/json',
      },
      ...(body === undefined ? {} : { body: yaml ? String(body) : JSON.stringify(body) }),
    });
    const out = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(out)}`);
    return out as Record<string, unknown> & { id: string; status: string };
  };
  const until = async (id: string, done: (run: { status: string; jobs: object }) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const run = (await api('GET', `/v1/runs/${id}`)) as unknown as {
        status: string;
        jobs: object;
      };
      if (done(run)) return;
      await sleep(100);
    }
    throw new Error(`run ${id} did not get there`);
  };
  await api('PUT', '/v1/workflows/release', RELEASE, true);
  await api('PUT', '/v1/workflows/nightly', NIGHTLY, true);
  const failed = await api('POST', '/v1/workflows/nightly/runs', {});
  await until(failed.id, (r) => r.status === 'failed');
  const done = await api('POST', '/v1/workflows/release/runs', { inputs: { version: '2.3.9' } });
  await until(done.id, (r) => r.status === 'waiting');
  await api('POST', `/v1/runs/${done.id}/approvals/release-gate`, { approve: true });
  await until(done.id, (r) => r.status === 'succeeded');
  const cancelled = await api('POST', '/v1/workflows/release/runs', {
    inputs: { version: '2.4.0-rc1' },
  });
  await until(cancelled.id, (r) => r.status === 'waiting');
  await api('POST', `/v1/runs/${cancelled.id}/cancel`, { reason: 'superseded by 2.4.0' });
  const waiting = await api('POST', '/v1/workflows/release/runs', {});
  await until(waiting.id, (r) => r.status === 'waiting');

  await mkdir(join(ROOT, 'docs'), { recursive: true });
  const page = await browser.context.newPage();
  const shot = async (name: string) => {
    await sleep(300);
    await page.screenshot({ path: join(ROOT, 'docs', name), fullPage: true });
    console.log(`docs/${name}`);
  };
  await page.goto(`${stack.apiUrl}/ui/runs/${waiting.id}#key=${encodeURIComponent(stack.apiKey)}`);
  await page.locator('[data-job="approve"][data-status="waiting"]').waitFor();
  await page.click('[data-job="build"]');
  await page.mouse.move(0, 0);
  await shot('ui-run.png');
  await page.goto(`${stack.apiUrl}/ui/runs/${done.id}`);
  await page.locator('[data-job="deploy[region=us-east-1]"][data-status="succeeded"]').waitFor();
  await shot('ui-run-done.png');
  await page.setViewportSize({ width: 1360, height: 420 });
  await page.goto(`${stack.apiUrl}/ui`);
  await page.locator(`tr[data-run="${failed.id}"]`).waitFor();
  await shot('ui-runs.png');
} finally {
  await browser.close();
  await stack.stop();
}
