import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLikeFunctions } from '../../bench/support/init-probe.js';

/**
 * What an engine function reads at init, built as serverless.yml builds it (chunks
 * included). Every file costs a cold start ~0.3 ms of CPU whatever its size (resolve,
 * read, compile, source map: bench/README.md, cold start), and an `import()` whose
 * target shares modules with the handler makes esbuild put each shared set into a
 * chunk of its own, read at init. The bounds are today's counts: a new file at init
 * should be a choice (lazy-load whole, or import statically), not a side effect.
 * The bare SDK + ioredis handler reads 3.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const MAX_FILES_AT_INIT = { execute: 4, schedule: 4, submit: 5 } as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowline-bundle-init-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('files an engine function reads at init', () => {
  it.each(Object.entries(MAX_FILES_AT_INIT))('%s: at most %d', async (fn, max) => {
    const out = await bundleLikeFunctions(join(ROOT, 'functions', `${fn}.ts`), join(dir, fn));
    const listing = out.files.map((f) => `${f.path.slice(dir.length)} ${f.bytes} B`).join('\n');
    expect(out.files.length, listing).toBeLessThanOrEqual(max);
  });

  it('the bare handler reads fewer (the bound is not vacuous)', async () => {
    const bare = await bundleLikeFunctions(
      join(ROOT, 'bench', 'support', 'bare-handler.ts'),
      join(dir, 'bare'),
    );
    expect(bare.files.length).toBe(3);
  });
});
