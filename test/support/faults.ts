import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { Config } from '../../lib/config.js';

/**
 * Helpers for fault tests (test/faults/): real processes that the test kills.
 * Whatever is still alive after the test file is SIGKILLed.
 */

const EXECUTOR_SCRIPT = fileURLToPath(new URL('./executor-process.ts', import.meta.url));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExecutorProcess {
  child: ChildProcess;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<ChildExit>;
  /** What it wrote to stderr so far, for failure messages. */
  stderr(): string;
}

/** Resolves when the child exits (at once if it already has). */
export function exited(child: ChildProcess): Promise<ChildExit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) =>
    child.once('exit', (code, signal) =>
      resolve({ code, signal: signal as NodeJS.Signals | null }),
    ),
  );
}

/**
 * Starts test/support/executor-process.ts (`node --import tsx`) on `config` and
 * resolves once it printed `ready` (its Redis answered). `env`: more of its environment.
 */
export async function spawnExecutor(
  config: Config,
  timeoutMs = 15_000,
  env: Record<string, string> = {},
): Promise<ExecutorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', EXECUTOR_SCRIPT], {
    env: { ...process.env, ...env, FLOWLINE_EXECUTOR_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`executor not ready after ${timeoutMs} ms; stderr:\n${err}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`executor exited (${code ?? signal}) before ready; stderr:\n${err}`));
    });
  });
  return {
    child,
    kill(signal) {
      const done = exited(child);
      child.kill(signal);
      return done;
    },
    stderr: () => err,
  };
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A TCP proxy in front of Redis that can lose one reply: armed with a marker, it
 * forwards the next request containing it, lets Redis execute it, and then cuts the
 * client's connection instead of passing the reply on. That is what a client sees
 * when a Redis node dies (or a network path breaks) between executing a command
 * and delivering its reply.
 */
export class ReplyDropper {
  private markers: string[] = [];
  /** After a lost reply, new connections are refused until then (ms): an outage. */
  private outageMs = 0;
  private refuseUntil = 0;
  private readonly sockets = new Set<Socket>();
  /** Replies lost since the last arm(). */
  dropped = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private upstreamPort: number,
  ) {}

  static async start(upstreamPort: number): Promise<ReplyDropper> {
    let self: ReplyDropper | undefined;
    const server = createServer((client) => self?.accept(client, self.upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    self = new ReplyDropper(
      server,
      typeof address === 'object' && address ? address.port : 0,
      upstreamPort,
    );
    return self;
  }

  /**
   * New connections go to `upstreamPort` from now on; open ones stay where they
   * are. What a primary endpoint's DNS flip is to a client after a failover.
   */
  retarget(upstreamPort: number): void {
    this.upstreamPort = upstreamPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Lose the reply to the next request that contains any of `markers`. For a script
   * give its SHA1 and a piece of its body: ioredis sends EVAL with the body on a
   * connection's first use of a script, EVALSHA after.
   */
  arm(...markers: string[]): void {
    this.markers = markers;
    this.dropped = 0;
    this.outageMs = 0;
  }

  /**
   * As arm(), and then refuse new connections for `ms`: Redis is away longer than the
   * client's command timeout, so the command fails with "Command timed out" although
   * it ran (a restart on a loaded machine).
   */
  armOutage(ms: number, ...markers: string[]): void {
    this.arm(...markers);
    this.outageMs = ms;
  }

  private accept(client: Socket, upstreamPort: number): void {
    if (Date.now() < this.refuseUntil) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ port: upstreamPort, host: '127.0.0.1' });
    this.sockets.add(client).add(upstream);
    let dropNextReply = false;
    client.on('data', (d) => {
      if (this.markers.some((m) => d.includes(m))) {
        this.markers = [];
        dropNextReply = true;
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!dropNextReply) {
        client.write(d);
        return;
      }
      // Redis has executed the request (this is its reply): the client never learns.
      if (client.destroyed) return;
      this.dropped++;
      this.refuseUntil = Date.now() + this.outageMs;
      client.destroy();
      upstream.destroy();
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
