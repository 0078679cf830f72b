import { spawn } from 'node:child_process';
import { scriptName } from './redis-meter.js';

/** One request a client sent, and the commands its script ran (none for a plain command). */
export interface TracedRequest {
  name: string;
  inside: string[];
}

/**
 * Every request Redis executes while `work` runs, in order, from MONITOR: a
 * script's own commands (`[0 lua]` lines) follow its EVALSHA at once, since a
 * script runs alone. EVALSHAs are named after the script where nameScripts knew it.
 */
export async function traceCommands(
  port: number,
  work: () => Promise<void>,
): Promise<TracedRequest[]> {
  const monitor = spawn('redis-cli', ['-p', String(port), 'monitor'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  monitor.stdout.setEncoding('utf8');
  monitor.stdout.on('data', (chunk: string) => {
    text += chunk;
  });
  // MONITOR answers OK once it is on.
  while (!text.startsWith('OK')) await new Promise((r) => setTimeout(r, 10));
  try {
    await work();
    // Let the trailing requests (the run's end) arrive.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    monitor.kill();
  }
  const requests: TracedRequest[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?/.exec(line);
    if (!m) continue;
    const [, from, command = '', first = ''] = m;
    const name = command.toLowerCase();
    if (from === 'lua') {
      requests.at(-1)?.inside.push(name);
    } else if (name !== 'info' && name !== 'monitor') {
      const script = name === 'evalsha' ? scriptName(first) : undefined;
      requests.push({ name: script ? `evalsha ${script}` : name, inside: [] });
    }
  }
  return requests;
}

/** `hset ×3, xadd` — the commands of a request, counted, in order of first use. */
export function summarizeInside(inside: string[]): string {
  const counts = new Map<string, number>();
  for (const c of inside) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
}
