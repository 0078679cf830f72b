import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { parse } from 'yaml';
import { ROOT } from '../../scripts/stack.js';

/**
 * What bench/cold-start.ts and bench/import-cost.ts share: the environment a Lambda
 * init sees, one fresh `node` importing a module, and serverless.yml's esbuild options.
 */

/**
 * What the engine handlers read, as dummy local values; the Lambda runtime's own too.
 * NODE_OPTIONS is serverless.yml's provider.environment's (`initEnv`).
 */
const INIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  FLOWLINE_QUEUE_URL: 'http://127.0.0.1:1/000000000000/execute',
  FLOWLINE_DLQ_URL: 'http://127.0.0.1:1/000000000000/execute-dlq',
  REDIS_URL: 'redis://127.0.0.1:1',
  FLOWLINE_KEY_PREFIX: 'fl',
  FLOWLINE_API_KEYS: 'bench:0123456789abcdef0123456789abcdef',
  LOG_LEVEL: 'info',
  POWERTOOLS_SERVICE_NAME: 'flowline-bench',
};

/**
 * Imports the module and prints ms since process start, of the import alone, and
 * the process's CPU (user + sys, all threads) so far: CPU does not count the time
 * other processes held the cores, so it varies less on a shared machine.
 */
const PROBE = `const t0 = performance.now();
const m = await import(process.argv[1]);
if (typeof m.handler !== 'function') throw new Error('no handler');
const cpu = process.cpuUsage();
console.log(JSON.stringify({ total: performance.now(), importMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 }));`;

export interface Sample {
  total: number;
  importMs: number;
  cpuMs: number;
}

/** INIT_ENV with the NODE_OPTIONS every function gets from serverless.yml. */
export async function initEnv(): Promise<NodeJS.ProcessEnv> {
  const nodeOptions = (await serverlessYml()).provider?.environment?.NODE_OPTIONS;
  return { ...INIT_ENV, ...(typeof nodeOptions === 'string' ? { NODE_OPTIONS: nodeOptions } : {}) };
}

/** One fresh `node` with `env` (initEnv) that imports `moduleUrl` (which must export `handler`). */
export function initOnce(moduleUrl: string, env: NodeJS.ProcessEnv): Sample {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, moduleUrl], {
    env,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`init of ${moduleUrl} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '') as Sample;
}

// biome-ignore lint/suspicious/noExplicitAny: the parsed YAML, read for two settings
async function serverlessYml(): Promise<any> {
  // The CloudFormation tags (!Ref…) elsewhere in the file are irrelevant here.
  return parse(await readFile(join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' });
}

/**
 * `runs` rounds of initOnce over every module, interleaved (a load swing then hits each
 * alike), after one uncounted warm-up round (the file cache): name → its samples.
 */
export function sampleRounds(
  modules: Record<string, string>,
  names: string[],
  env: NodeJS.ProcessEnv,
  runs: number,
): Record<string, Sample[]> {
  const samples = Object.fromEntries(names.map((n) => [n, [] as Sample[]]));
  for (const n of names) initOnce(modules[n] as string, env);
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`round ${i + 1}/${runs}\r`);
    for (const n of names) samples[n]?.push(initOnce(modules[n] as string, env));
  }
  process.stderr.write('\n');
  return samples;
}

/** serverless.yml's custom.esbuild as esbuild build options (those a one-file bundle takes). */
export async function serverlessEsbuildOptions(): Promise<BuildOptions> {
  const o = (await serverlessYml()).custom.esbuild;
  return {
    bundle: o.bundle,
    minify: o.minify,
    minifyIdentifiers: o.minifyIdentifiers,
    minifySyntax: o.minifySyntax,
    minifyWhitespace: o.minifyWhitespace,
    keepNames: o.keepNames,
    sourcemap: o.sourcemap,
    sourcesContent: o.sourcesContent,
    target: o.target,
    platform: o.platform,
    format: o.format,
    banner: o.banner,
    logLevel: 'warning',
  };
}

/**
 * `entry` bundled into `outdir` with serverless.yml's esbuild options, code behind
 * an `import()` in chunks as the functions have it: the entry's file, and the files
 * (and their bytes) an import of it reads: it and the chunks it imports statically.
 */
export async function bundleLikeFunctions(
  entry: string,
  outdir: string,
  /** One file, dynamic imports inlined (how the baseline was built before 2026-12-02 11:30). */
  oneFile = false,
): Promise<{ file: string; bytes: number; files: { path: string; bytes: number }[] }> {
  const o = (await serverlessYml()).custom.esbuild;
  const result = await build({
    ...(await serverlessEsbuildOptions()),
    entryPoints: [entry],
    outdir,
    splitting: oneFile ? false : o.splitting,
    chunkNames: o.chunkNames,
    outExtension: { '.js': o.outputFileExtension ?? '.js' },
    metafile: true,
  });
  const outputs = result.metafile.outputs;
  // A dynamic import's chunk has an entryPoint too: the main one is `entry`'s.
  const main = Object.keys(outputs).find(
    (k) => outputs[k]?.entryPoint && resolve(outputs[k].entryPoint) === resolve(entry),
  );
  if (!main) throw new Error(`no output for ${entry}`);
  // What an import reads: the entry and the chunks it imports statically.
  const read = new Set<string>();
  const visit = (k: string) => {
    if (read.has(k)) return;
    read.add(k);
    for (const i of outputs[k]?.imports ?? [])
      if (i.kind === 'import-statement' && outputs[i.path]) visit(i.path);
  };
  visit(main);
  const bytes = [...read].reduce((sum, k) => sum + (outputs[k]?.bytes ?? 0), 0);
  const files = [...read].map((k) => ({ path: resolve(k), bytes: outputs[k]?.bytes ?? 0 }));
  return { file: resolve(main), bytes, files };
}
