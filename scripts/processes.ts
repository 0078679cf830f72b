import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port the OS had free a moment ago (another process may still take it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Fails, naming the port and the setting, when something already listens on it. */
export function assertPortFree(port: number, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', () =>
      reject(
        new Error(`port ${port} is in use (another local stack?); choose another with ${setting}`),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Children run in their own process group (detached) so that stopping one also
// stops whatever it spawned (esbuild's service binary under serverless). Should
// this process end without calling stop(), the exit hook still kills them.
// Detached children do not get the terminal's Ctrl-C either, so a signal that
// ends this process ends them first; when nobody else handles the signal it is
// raised again so that this process still dies of it.
const groups = new Set<number>();
const killAll = () => {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, function onSignal() {
    killAll();
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    }
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function spawnGroup(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) {
    const pid = child.pid;
    groups.add(pid);
    child.once('exit', () => groups.delete(pid));
  }
  return child;
}

/** Asks the group to stop with `signal`, then SIGKILLs it after `graceMs`. */
export async function stopGroup(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5_000,
): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(pid, signal);
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([exited, timer])) === 'timeout') {
    killGroup(pid, 'SIGKILL');
    await exited;
  }
  // The leader may be gone while the group lives on (a grandchild): finish it.
  killGroup(pid, 'SIGKILL');
  groups.delete(pid);
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * The AWS SDK warns on Node < 22 once per module instance: in every test worker and
 * every local function. Say it once here instead, and silence the SDK's copies with
 * its documented switch (an AWS_* variable, so serverless offline hands it to the
 * functions too). Returns the note to print, if any.
 */
export function sayAwsNodeSupportOnce(): string | undefined {
  const major = Number(process.versions.node.split('.')[0]);
  if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === 'true') return undefined;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (major >= 22) return undefined;
  return `note: node ${process.version}: AWS SDK releases after the first week of January 2027 need node >= 22 (its own warning is silenced)`;
}

export const REDIS_MISSING =
  'redis-server is not on PATH. Install it with `apt-get install -y redis-server` ' +
  '(tests and `npm run dev` start their own private Redis; nothing is skipped without it).';

/**
 * Spawns a private redis-server on a free port and waits for PONG. Its data lives in a
 * temp dir removed on stop, or, given `dataDir`, in that dir with the append-only file
 * on, kept across restarts (`npm run dev`).
 */
export async function startRedisServer(
  opts: { port?: number; appendonly?: boolean; timeoutMs?: number; dataDir?: string } = {},
): Promise<RedisServer> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new Error(REDIS_MISSING);
  const port = opts.port ?? (await freePort());
  const kept = opts.dataDir !== undefined;
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const dir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'flowline-redis-')));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.appendonly || kept ? 'yes' : 'no',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  const child = spawnGroup('redis-server', args);
  let exitCode: number | null = null;
  child.once('exit', (code) => {
    exitCode = code;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await ping(port))) {
    if (exitCode !== null) throw new Error(`redis-server exited with ${exitCode} (log: ${dir})`);
    if (Date.now() > deadline) {
      await stopGroup(child);
      throw new Error(`redis-server on :${port} did not answer PING (log: ${dir})`);
    }
    await sleep(25);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      // SIGTERM: Redis flushes the append-only file before it exits.
      await stopGroup(child, 'SIGTERM', 3_000);
      if (!kept) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  /** The seed node's URL (any node would do). */
  url: string;
  /** Every node's port, masters first as `redis-cli --cluster create` was given them. */
  ports: number[];
  /** Stops one node (SIGKILL: a crash), for fault tests. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private Redis Cluster: `masters × (1 + replicas)` redis-servers with
 * `--cluster-enabled yes` on free ports, joined by `redis-cli --cluster create`;
 * resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(
  opts: { masters?: number; replicas?: number; timeoutMs?: number } = {},
): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const nodes = await Promise.all(
    Array.from({ length: masters * (1 + replicas) }, async () => {
      const port = await freePort();
      const dir = await mkdtemp(join(tmpdir(), 'flowline-cluster-'));
      const child = spawnGroup('redis-server', [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
        ...['--appendonly', 'no', '--logfile', join(dir, 'redis.log')],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
        // Fast failure detection, so a killed master's replica takes over in seconds.
        ...['--cluster-node-timeout', '1000'],
      ]);
      return { port, dir, child };
    }),
  );
  const stopAll = async () => {
    await Promise.allSettled(nodes.map((n) => stopGroup(n.child, 'SIGKILL', 1_000)));
    await Promise.allSettled(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  try {
    for (const n of nodes) {
      while (!(await ping(n.port))) {
        if (Date.now() > deadline) throw new Error(`cluster node :${n.port} did not answer PING`);
        await sleep(25);
      }
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}`);
    for (const n of nodes) {
      for (;;) {
        const info = spawnSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], {
          encoding: 'utf8',
        });
        if (info.stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node :${n.port} never became ok`);
        await sleep(50);
      }
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${nodes[0]?.port}`,
    ports: nodes.map((n) => n.port),
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (node) await stopGroup(node.child, 'SIGKILL', 1_000);
    },
    stop: stopAll,
  };
}

/** One inline PING over TCP: true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
