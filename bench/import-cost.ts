import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from '../scripts/stack.js';
import { bundleLikeFunctions, initEnv, type Sample, sampleRounds } from './support/init-probe.js';
import { fixed, percentile, table } from './support/table.js';

/**
 * What one module adds to a cold start, on top of the bare SDK + ioredis handler:
 *
 *   node --import tsx bench/import-cost.ts [--runs 21] <module> [<module>...]
 *
 * A module is a path from the repo's root (`lib/log.ts`) or a package name (`pino`).
 * Each is bundled together with bench/support/bare-handler.ts (serverless.yml's esbuild
 * options; code behind an `import()` in chunks, not counted) and imported by a fresh `node` per sample, as bench/cold-start.ts
 * does; rows are interleaved. "Δ" is the p50 minus the baseline's: what the module
 * costs a function that already loads the SDK and ioredis (node builtins are shared).
 */
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '21' } },
});
const runs = Number(args.runs);
if (positionals.length === 0) {
  console.error('usage: bench/import-cost.ts [--runs 21] <module> [<module>...]');
  process.exit(2);
}

const BARE = join(ROOT, 'bench', 'support', 'bare-handler.ts');

/** An entry importing the baseline and `spec` (kept from tree-shaking by a global). */
function entryText(spec: string | undefined): string {
  const lines = [`export { handler } from ${JSON.stringify(BARE)};`];
  if (spec) {
    const from = /^[./]|\.ts$/.test(spec) ? resolve(ROOT, spec) : spec;
    lines.push(`import * as m from ${JSON.stringify(from)};`, 'globalThis.__kept = m;');
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0] ?? 0;
  const env = await initEnv();
  const work = await mkdtemp(join(ROOT, '.flowline', 'import-cost-'));
  try {
    const names = ['baseline', ...positionals];
    const modules: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const [i, name] of names.entries()) {
      const entry = join(work, `entry-${i}.ts`);
      await writeFile(entry, entryText(i === 0 ? undefined : name));
      const out = await bundleLikeFunctions(entry, join(work, `out-${i}`));
      modules[name] = pathToFileURL(out.file).href;
      sizes[name] = out.bytes;
    }
    const samples = sampleRounds(modules, names, env, runs);
    const p50 = (n: string, of: keyof Sample) =>
      percentile(samples[n]?.map((s) => s[of]) ?? [], 50);
    const rows = names.map((n) => [
      n,
      fixed(p50(n, 'total')),
      n === 'baseline' ? '' : fixed(p50(n, 'total') - p50('baseline', 'total')),
      fixed(p50(n, 'cpuMs')),
      n === 'baseline' ? '' : fixed(p50(n, 'cpuMs') - p50('baseline', 'cpuMs')),
      n === 'baseline'
        ? `${fixed((sizes[n] as number) / 1024, 0)}`
        : `+${fixed(((sizes[n] as number) - (sizes.baseline as number)) / 1024, 0)}`,
    ]);
    console.log(
      `Import cost on top of the baseline, ${runs} fresh node processes each (Node ${process.versions.node}, ` +
        `load ${loadAtStart.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}):\n`,
    );
    console.log(
      table(['module', 'init p50 ms', 'Δ ms', 'CPU p50 ms', 'Δ CPU ms', 'KiB read'], rows),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
