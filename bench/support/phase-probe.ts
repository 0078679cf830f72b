import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

/**
 * Where a bench phase's time goes in this process, to explain client-side
 * latencies: a transition's figure is Redis + loopback + the wait for this event
 * loop, and under load the wait is most of it. Measured over one phase:
 *
 * - CPU of the process (user + sys, all threads) against the wall time;
 * - event-loop delay (a blocked loop delays every reply behind it);
 * - GC pauses (each one stops the loop);
 * - involuntary context switches and the load average: the CPU others took;
 * - optionally a CPU profile (inspector, 1 ms samples) summed by who ran: the
 *   engine, the store, ioredis, the AWS SDK, pino, the bench's in-process SQS…
 */
export interface PhaseReport {
  wallMs: number;
  cpuMs: number;
  /** Of cpuMs, the kernel's (system time): syscalls, and on loopback the peer's TCP work. */
  systemMs: number;
  loop: { p50: number; p99: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number; byKind: Record<string, GcStats> };
  /** Size of V8's young generation at the end (MB): it grows only while much survives. */
  newSpaceMb: number;
  involuntarySwitches: number;
  load: { start: number; end: number };
  /** CPU ms by who ran it (profile); empty without `profile`. */
  byOwner: Map<string, number>;
  /** The busiest frames by self time (profile): `owner: function (file:line)` → ms. */
  top: [string, number][];
  /**
   * Bytes allocated by owner and the top allocating frames (sampling heap profiler,
   * collected objects included); empty without `allocations`.
   */
  allocated: { byOwner: [string, number][]; top: [string, number][] };
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber?: number };
  selfSize: number;
  children?: HeapNode[];
}

/** Allocated bytes by owner (a frame without one: its caller's) and by frame. */
function allocatedBy(head: HeapNode): PhaseReport['allocated'] {
  const owners = new Map<string, number>();
  const frames = new Map<string, number>();
  const walk = (node: HeapNode, inherited: string) => {
    const owner = ownerOf(node.callFrame.url) ?? inherited;
    if (node.selfSize > 0) {
      owners.set(owner, (owners.get(owner) ?? 0) + node.selfSize);
      const file = node.callFrame.url.split('/').pop() ?? '';
      const name = `${owner}: ${node.callFrame.functionName || '(anonymous)'}${file ? ` (${file}:${(node.callFrame.lineNumber ?? 0) + 1})` : ''}`;
      frames.set(name, (frames.get(name) ?? 0) + node.selfSize);
    }
    for (const c of node.children ?? []) walk(c, owner);
  };
  walk(head, 'Node internals');
  const sorted = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { byOwner: sorted(owners, 30), top: sorted(frames, TOP_FRAMES) };
}

export interface GcStats {
  count: number;
  totalMs: number;
  maxMs: number;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Owner of a profile frame by its script URL; undefined: look at the caller. */
function ownerOf(url: string): string | undefined {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  const pkg = m?.[1];
  if (pkg) {
    if (/^(@aws-sdk|@smithy|@aws-crypto)\//.test(pkg)) return 'AWS SDK (SQS client)';
    if (
      /^(ioredis|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback)$/.test(pkg)
    )
      return 'ioredis';
    if (/^(pino|sonic-boom|thread-stream|safe-stable-stringify|quick-format-unescaped)$/.test(pkg))
      return 'pino (logging)';
    if (/^(fauxqs|fastify|@fastify\/.*|avvio|light-my-request|find-my-way|toad-cache)$/.test(pkg))
      return 'local SQS server (fauxqs: bench only)';
    if (pkg === 'tsx' || pkg === 'esbuild') return 'tsx (bench only)';
    return `other packages (${pkg}…)`;
  }
  if (/\/lib\/engine\//.test(url)) return 'flowline engine';
  if (/\/lib\/store\//.test(url)) return 'flowline store (run-store, scripts)';
  if (/\/lib\/queue\//.test(url)) return 'flowline queue';
  if (/\/lib\/expr\//.test(url)) return 'flowline expressions';
  if (/\/lib\//.test(url)) return 'flowline, other';
  if (/\/functions\//.test(url)) return 'flowline handler (functions/)';
  if (/\/bench\/support\/execute-container/.test(url)) return 'Lambda runtime stand-in (bench)';
  if (/\/bench\//.test(url)) return 'bench';
  return undefined;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

const TOP_FRAMES = 30;

/**
 * Self time of each sample, given to the nearest frame (itself or a caller) with an
 * owner; and the busiest frames themselves (a builtin named with its owner).
 */
function byOwner(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): {
  owners: Map<string, number>;
  top: [string, number][];
} {
  const parent = new Map<number, number>();
  const nodes = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    nodes.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const owners = new Map<number, string>();
  const ownerOfNode = (id: number): string => {
    const known = owners.get(id);
    if (known) return known;
    const n = nodes.get(id);
    const name = n?.callFrame.functionName ?? '';
    let owner: string | undefined;
    if (name === '(garbage collector)') owner = 'GC';
    else if (name === '(idle)') owner = 'idle';
    else if (name === '(program)') owner = 'V8 / native';
    else owner = ownerOf(n?.callFrame.url ?? '');
    if (!owner) {
      const up = parent.get(id);
      owner = up === undefined ? 'Node internals' : ownerOfNode(up);
    }
    owners.set(id, owner);
    return owner;
  };
  const out = new Map<string, number>();
  const frames = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const owner = ownerOfNode(id);
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    out.set(owner, (out.get(owner) ?? 0) + ms);
    if (owner === 'idle') return;
    const frame = nodes.get(id)?.callFrame as
      | { functionName: string; url: string; lineNumber?: number }
      | undefined;
    const file = frame?.url.split('/').pop() ?? '';
    const name = `${owner}: ${frame?.functionName || '(anonymous)'}${file ? ` (${file}:${(frame?.lineNumber ?? 0) + 1})` : ''}`;
    frames.set(name, (frames.get(name) ?? 0) + ms);
  });
  const top = [...frames].sort((a, b) => b[1] - a[1]).slice(0, TOP_FRAMES);
  return { owners: out, top };
}

export async function startPhaseProbe(
  opts: { profile?: boolean; allocations?: boolean } = {},
): Promise<{
  stop(): Promise<PhaseReport>;
}> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gcPauses: number[] = [];
  const byKind: Record<string, GcStats> = {};
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcPauses.push(entry.duration);
      const detail = (entry as { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? 0] ?? 'other';
      byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 };
      const k = byKind[kind];
      k.count++;
      k.totalMs += entry.duration;
      k.maxMs = Math.max(k.maxMs, entry.duration);
    }
  });
  let session: Session | undefined;
  if (opts.profile || opts.allocations) {
    session = new Session();
    session.connect();
  }
  if (session && opts.allocations) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as object);
  }
  if (session && opts.profile) {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 1000 });
    await session.post('Profiler.start');
  }
  const load = loadavg()[0] ?? 0;
  const switches = process.resourceUsage().involuntaryContextSwitches;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  loop.enable();
  gc.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      const wallMs = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      loop.disable();
      gc.disconnect();
      let owners = new Map<string, number>();
      let top: [string, number][] = [];
      let allocated: PhaseReport['allocated'] = { byOwner: [], top: [] };
      if (session && opts.profile) {
        const { profile } = await session.post('Profiler.stop');
        ({ owners, top } = byOwner(profile as Parameters<typeof byOwner>[0]));
      }
      if (session && opts.allocations) {
        const { profile } = await session.post('HeapProfiler.stopSampling');
        allocated = allocatedBy(profile.head as unknown as HeapNode);
      }
      session?.disconnect();
      return {
        wallMs,
        cpuMs: (used.user + used.system) / 1000,
        systemMs: used.system / 1000,
        loop: {
          p50: loop.percentile(50) / 1e6,
          p99: loop.percentile(99) / 1e6,
          max: loop.max / 1e6,
        },
        gc: {
          count: gcPauses.length,
          totalMs: gcPauses.reduce((a, b) => a + b, 0),
          maxMs: Math.max(0, ...gcPauses),
          byKind,
        },
        newSpaceMb:
          (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) /
          2 ** 20,
        involuntarySwitches: process.resourceUsage().involuntaryContextSwitches - switches,
        load: { start: load, end: loadavg()[0] ?? 0 },
        byOwner: owners,
        top,
        allocated,
      };
    },
  };
}
