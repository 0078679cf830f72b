/**
 * What the runner adds to a shell step (issue 8): the same command run N times
 *   plain    — `/bin/sh -c` with a clean env, as shell steps ran before the runner;
 *   sandbox  — the local runner: scratch HOME, uid 65534, namespaces (as detected).
 *
 *   node --import tsx bench/runner-latency.ts [N=40]
 */
import { spawn } from 'node:child_process';
import { createLocalRunner } from '../lib/runner/local-runner.js';
import { DEFAULT_SHELL_PATH } from '../lib/runner/run-command.js';

const N = Number(process.argv[2] ?? 40);
const COMMAND = 'echo hello';

function plain(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', COMMAND], {
      env: { PATH: DEFAULT_SHELL_PATH },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

const runner = createLocalRunner();
const sandbox = await runner.sandbox();
const inSandbox = async () => {
  const out = await runner.run({ command: COMMAND, env: {} }, new AbortController().signal);
  if (!('exitCode' in out) || out.stdout !== 'hello\n') throw new Error(JSON.stringify(out));
};

async function measure(fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const rows: [string, number[]][] = [];
// Interleaved rounds, so machine load hits both alike.
const a: number[] = [];
const b: number[] = [];
for (let round = 0; round < 4; round++) {
  a.push(...(await measure(plain)));
  b.push(...(await measure(inSandbox)));
}
rows.push(['plain /bin/sh', a.sort((x, y) => x - y)], ['runner sandbox', b.sort((x, y) => x - y)]);
console.log(
  `sandbox: uid ${sandbox.uid ?? 'own'}, namespaces ${sandbox.namespaces.join(',') || 'none'}`,
);
console.log(`${N * 4} runs each of '${COMMAND}'`);
for (const [name, xs] of rows) {
  console.log(
    `${name.padEnd(16)} p50 ${pct(xs, 0.5).toFixed(1)} ms  p90 ${pct(xs, 0.9).toFixed(1)} ms`,
  );
}
console.log(`added p50: ${(pct(b, 0.5) - pct(a, 0.5)).toFixed(1)} ms`);
