import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Command, Redis } from 'ioredis';

/**
 * Two views of what an engine asks of Redis during a measured window.
 *
 * Server side, `INFO commandstats` counts every command Redis executed, and in
 * Redis 7 that includes the commands a Lua script runs through `redis.call`: one
 * EVALSHA doing three HSETs shows as evalsha=1 and hset=3. Commands inside
 * MULTI/EXEC count once each, plus MULTI and EXEC themselves. So the server total
 * is "Redis commands executed", not "requests".
 *
 * Client side, every command an ioredis client writes to its socket goes through
 * `Command#toWritable` exactly once (pipelined or not, in MULTI or not), so
 * counting there, per server port, gives the top-level commands: the requests
 * the clients made.
 * Both engines use ioredis, so one patch sees both. Pipelining (flowline enables
 * auto-pipelining) can put several requests in one TCP write; they still count as
 * separate requests here, so "top-level" is an upper bound on network round trips.
 *
 * server − top-level = commands run inside scripts (give or take a blocking
 * command that straddles a window edge).
 */

const run = promisify(execFile);
/** Commands written, by Redis server port, then by command name. */
const clientCounts = new Map<number, Map<string, number>>();
let installed = false;

/** Script SHA1 → name, so a sent EVALSHA is counted as `evalsha <name>` (see nameScripts). */
const scriptNames = new Map<string, string>();

/**
 * Name the scripts a client defined (ioredis `defineCommand` keeps them in
 * `scriptsSet`), so the client-side counts tell claimJob from finishJob.
 */
export function nameScripts(client: object): void {
  const set = (client as { scriptsSet?: Record<string, { sha: string }> }).scriptsSet ?? {};
  for (const [name, script] of Object.entries(set)) scriptNames.set(script.sha, name);
}

/** The name nameScripts learnt for a script's SHA1, if any. */
export const scriptName = (sha: string): string | undefined => scriptNames.get(sha);

/** The counted name of a command: EVALSHA of a named script carries the script's name. */
function countedName(command: Command): string {
  if (command.name !== 'evalsha' && command.name !== 'eval') return command.name;
  const sha = command.args[0];
  const name = typeof sha === 'string' ? scriptNames.get(sha) : undefined;
  return name ? `${command.name} ${name}` : command.name;
}

/**
 * Patches ioredis once so every command written by any client in this process is
 * counted, by the port of the server it went to: both engines can then stay
 * connected while only one of them is measured.
 */
export function installClientCounter(): void {
  if (installed) return;
  installed = true;
  const original = Command.prototype.toWritable;
  Command.prototype.toWritable = function counted(this: Command, socket: object) {
    const port = (socket as { remotePort?: number }).remotePort ?? 0;
    const counts = clientCounts.get(port) ?? new Map<string, number>();
    clientCounts.set(port, counts);
    const name = countedName(this);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return original.call(this, socket);
  };
}

/**
 * The meter talks to Redis through redis-cli, not ioredis, so its own commands never
 * reach the client counter; on the server they are subtracted (see `endWindow`).
 */
async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

/** `INFO` text → field map (`used_cpu_sys` → `1.23`, `cmdstat_hset` → `calls=…`). */
function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Redis process CPU (user + sys, all threads) in µs. */
function cpuUs(fields: Map<string, string>): number {
  const sys = Number(fields.get('used_cpu_sys'));
  const user = Number(fields.get('used_cpu_user'));
  if (!Number.isFinite(sys) || !Number.isFinite(user))
    throw new Error('INFO cpu had no used_cpu_*');
  return (sys + user) * 1e6;
}

/** `INFO commandstats` text → command name → its calls and µs. */
export function commandstats(text: string): Map<string, { calls: number; usec: number }> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) out.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/** `cmdstat_<name>:calls=N,usec=…` → name → calls. */
function commandCalls(fields: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of fields) {
    if (!key.startsWith('cmdstat_')) continue;
    const n = /(?:^|,)calls=(\d+)/.exec(value)?.[1];
    if (n !== undefined) out.set(key.slice('cmdstat_'.length), Number(n));
  }
  return out;
}

/** Server-side p50/p99 (µs) per command from `INFO latencystats` (Redis ≥ 7). */
export async function latencyPercentiles(
  port: number,
): Promise<Map<string, { p50: number; p99: number }>> {
  const out = new Map<string, { p50: number; p99: number }>();
  for (const [key, value] of infoFields(await redisCli(port, 'INFO', 'latencystats'))) {
    if (!key.startsWith('latency_percentiles_usec_')) continue;
    const p50 = /p50=([\d.]+)/.exec(value)?.[1];
    const p99 = /p99=([\d.]+)/.exec(value)?.[1];
    if (p50 !== undefined && p99 !== undefined) {
      out.set(key.slice('latency_percentiles_usec_'.length), {
        p50: Number(p50),
        p99: Number(p99),
      });
    }
  }
  return out;
}

const SETTLE_MS = 100;

export interface Measurement {
  /** Length of the window, the closing pause included. */
  wallMs: number;
  /** Redis CPU in the window, µs (process total, so background threads too). */
  cpuUs: number;
  /** Bytes Redis read from / wrote to clients (the meter's own few hundred included). */
  netInBytes: number;
  netOutBytes: number;
  /**
   * Reads Redis made from client sockets (`total_reads_processed`): one per batch of
   * requests that arrived together, so pipelined requests sharing a TCP write count
   * once. The per-request overhead (syscalls, event loop) is paid per read.
   */
  reads: number;
  /** Replies written back (`total_writes_processed`): one per batch answered. */
  writes: number;
  /** Commands Redis executed, by name, inside scripts included. */
  server: Map<string, number>;
  /** Commands the clients of this process sent, by name (top-level requests). */
  client: Map<string, number>;
}

export interface Window {
  end(): Promise<Measurement>;
}

/** Resets Redis' command statistics and starts counting. Call with the engines idle. */
export async function startWindow(port: number): Promise<Window> {
  await redisCli(port, 'CONFIG', 'RESETSTAT');
  // RESETSTAT resets neither CPU (it is getrusage) nor the read/write counts: baselines.
  const before = infoFields(await redisCli(port, 'INFO', 'cpu', 'stats'));
  const cpuBefore = cpuUs(before);
  const readsBefore = Number(before.get('total_reads_processed'));
  const writesBefore = Number(before.get('total_writes_processed'));
  const clientBefore = new Map(clientCounts.get(port));
  const t0 = performance.now();
  return {
    async end() {
      // Work the engine does just after its last run reports success (flowline drops
      // the run from its active index, BullMQ's worker asks for the next job) belongs
      // to the window. Without a pause it could reach the server after the client-side
      // snapshot but before INFO, and be counted on one side only.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const wallMs = performance.now() - t0;
      const client = new Map<string, number>();
      for (const [name, n] of clientCounts.get(port) ?? []) {
        const d = n - (clientBefore.get(name) ?? 0);
        if (d > 0) client.set(name, d);
      }
      // One INFO for all sections: INFO does not count itself in its own reply.
      const fields = infoFields(await redisCli(port, 'INFO', 'commandstats', 'cpu', 'stats'));
      const server = commandCalls(fields);
      // The meter's own RESETSTAT and baseline INFO are in there; the engines' are not.
      subtract(server, 'config|resetstat', 1);
      subtract(server, 'info', 1);
      return {
        wallMs,
        cpuUs: cpuUs(fields) - cpuBefore,
        // RESETSTAT zeroes these, so they need no baseline.
        netInBytes: Number(fields.get('total_net_input_bytes') ?? Number.NaN),
        netOutBytes: Number(fields.get('total_net_output_bytes') ?? Number.NaN),
        // Less the closing INFO's own read (the baseline INFO counted itself already).
        reads: Number(fields.get('total_reads_processed')) - readsBefore - 1,
        writes: Number(fields.get('total_writes_processed')) - writesBefore - 1,
        server,
        client,
      };
    },
  };
}

function subtract(counts: Map<string, number>, name: string, n: number): void {
  const left = (counts.get(name) ?? 0) - n;
  if (left > 0) counts.set(name, left);
  else counts.delete(name);
}

/**
 * Redis' CPU rate when nobody talks to it (serverCron, `hz` 10), in µs per second,
 * so a report can tell how much of a window's CPU is the engine's.
 */
export async function idleCpuRate(port: number, sampleMs = 2_000): Promise<number> {
  const before = cpuUs(infoFields(await redisCli(port, 'INFO', 'cpu')));
  await new Promise((r) => setTimeout(r, sampleMs));
  const after = cpuUs(infoFields(await redisCli(port, 'INFO', 'cpu')));
  return ((after - before) * 1000) / sampleMs;
}

/**
 * Redis CPU for one unpipelined request (PING, back to back from one client), µs:
 * what a round trip costs the server on this machine before any work is done.
 */
export async function requestCpuUs(port: number, n = 5_000): Promise<number> {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    await client.ping();
    const before = cpuUs(infoFields(await redisCli(port, 'INFO', 'cpu')));
    for (let i = 0; i < n; i++) await client.ping();
    const after = cpuUs(infoFields(await redisCli(port, 'INFO', 'cpu')));
    return (after - before) / n;
  } finally {
    client.disconnect();
  }
}

export function total(counts: Map<string, number>): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}
