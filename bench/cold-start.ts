import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ROOT } from '../scripts/stack.js';
import { bundleLikeFunctions, initEnv, sampleRounds } from './support/init-probe.js';
import { fixed, percentile, table } from './support/table.js';

/**
 * Cold start of each function, from the zips `serverless package` builds:
 *
 *   node --import tsx bench/cold-start.ts [--runs 15] [--package <dir of built zips>]
 *                                         [--before <dir of zips built from an older commit>]
 *
 * Each function's zip is unzipped into a temp dir; a fresh `node` (the NODE_OPTIONS
 * of provider.environment, i.e. with source maps) imports its handler module and
 * reports `performance.now()` once the import is done: process start to a handler
 * ready to be called, what a Lambda init pays for code. Processes run one at a
 * time, interleaved across functions, so load on the machine spreads evenly. The
 * baseline is bench/support/bare-handler.ts (an SQSClient and a lazyConnect ioredis
 * client) bundled with serverless.yml's own custom.esbuild options, splitting
 * included (the SDK's lazy parts in chunks, as in the functions); "baseline one
 * file" is the same handler without splitting, the baseline of earlier figures.
 * No handler connects anywhere at init: the env is dummy local values.
 */
const FUNCTIONS = ['submit', 'schedule', 'execute', 'runner', 'echo'] as const;
const ONE_FILE = 'baseline one file';
const SERVERLESS = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    package: { type: 'string' },
    /** Zips of another commit (`serverless package --package <dir>` there): rows `<fn> before`, same run. */
    before: { type: 'string' },
  },
});
const runs = Number(args.runs);

async function packageFunctions(dir: string): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOWLINE_ESBUILD_DIR: `.flowline/build-cold-start-${process.pid}`,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  try {
    await promisify(execFile)(process.execPath, [SERVERLESS, 'package', '--package', dir], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
  } finally {
    await rm(join(ROOT, env.FLOWLINE_ESBUILD_DIR as string), { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0] ?? 0;
  const env = await initEnv();
  const work = await mkdtemp(join(tmpdir(), 'flowline-cold-start-'));
  try {
    const zips = args.package ?? join(work, 'package');
    if (!args.package) {
      process.stderr.write('serverless package…\n');
      await packageFunctions(zips);
    }
    const bare = await bundleLikeFunctions(
      join(ROOT, 'bench', 'support', 'bare-handler.ts'),
      join(work, 'bare'),
    );
    // The same handler in one file (its SDK's lazy parts inlined): the baseline of the
    // figures before 2026-12-02 11:30, for comparison with them.
    const bareOneFile = await bundleLikeFunctions(
      join(ROOT, 'bench', 'support', 'bare-handler.ts'),
      join(work, 'bare-one-file'),
      true,
    );
    const modules: Record<string, string> = {
      baseline: pathToFileURL(bare.file).href,
      [ONE_FILE]: pathToFileURL(bareOneFile.file).href,
    };
    const sizes: Record<string, number> = { baseline: bare.bytes, [ONE_FILE]: bareOneFile.bytes };
    const builds = [{ dir: zips, suffix: '' }];
    if (args.before) builds.push({ dir: args.before, suffix: ' before' });
    for (const { dir, suffix } of builds) {
      for (const fn of FUNCTIONS) {
        const zip = join(dir, `${fn}.zip`);
        const into = join(work, `${fn}${suffix.replace(' ', '-')}`);
        await promisify(execFile)('unzip', ['-q', '-o', zip, '-d', into]);
        modules[fn + suffix] = pathToFileURL(join(into, 'functions', `${fn}.mjs`)).href;
        sizes[fn + suffix] = (await stat(zip)).size;
      }
    }
    const names = [
      'baseline',
      ONE_FILE,
      ...FUNCTIONS.flatMap((fn) => (args.before ? [`${fn} before`, fn] : [fn])),
    ];
    const samples = sampleRounds(modules, names, env, runs);
    const median = (n: string) => percentile(samples[n]?.map((s) => s.total) ?? [], 50);
    const medianCpu = (n: string) => percentile(samples[n]?.map((s) => s.cpuMs) ?? [], 50);
    const base = median('baseline');
    const baseCpu = medianCpu('baseline');
    // Each sample over the baseline's of the same round, then the median: the load
    // on this shared box drifts between rounds, and a round's samples are seconds apart.
    const paired = (n: string, of: 'total' | 'cpuMs') =>
      percentile(
        (samples[n] ?? []).map((s, i) => s[of] / (samples.baseline?.[i]?.[of] ?? Number.NaN)),
        50,
      );
    const rows = names.map((n) => {
      const totals = samples[n]?.map((s) => s.total) ?? [];
      const imports = samples[n]?.map((s) => s.importMs) ?? [];
      return [
        n,
        fixed(median(n)),
        fixed(percentile(totals, 90)),
        fixed(percentile(imports, 50)),
        fixed(median(n) / base, 2),
        fixed(paired(n, 'total'), 2),
        fixed(medianCpu(n)),
        fixed(medianCpu(n) / baseCpu, 2),
        fixed(paired(n, 'cpuMs'), 2),
        n === 'baseline' || n === ONE_FILE
          ? `${fixed((sizes[n] as number) / 1024, 0)} KiB read`
          : `${fixed((sizes[n] as number) / 1024, 0)} KiB`,
      ];
    });
    console.log(
      `Cold start, ${runs} fresh node processes per function (Node ${process.versions.node}, ` +
        `load ${loadAtStart.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}):\n`,
    );
    console.log(
      table(
        [
          'function',
          'init p50 ms',
          'init p90 ms',
          'import p50 ms',
          '× baseline',
          '× paired',
          'CPU p50 ms',
          'CPU × baseline',
          'CPU × paired',
          'zip',
        ],
        rows,
      ),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
