import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, sleep, spawnGroup, stopGroup } from '../../scripts/processes.js';

/**
 * A redis-server that can be stopped and started again on the same port and dir,
 * with the append-only file fsynced on every write (`appendfsync always`), so a
 * restart loses nothing that was acknowledged. For fault tests and the soak.
 */
export class RestartableRedis {
  private child: ChildProcess | undefined;
  restarts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<RestartableRedis> {
    const server = new RestartableRedis(
      await freePort(),
      await mkdtemp(join(tmpdir(), 'flowline-aof-')),
    );
    await server.up();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts redis-server and resolves once it answers PING (the AOF is loaded by then).
   * A server that exits before answering (on a loaded machine the port of the one
   * just killed can still be held for a moment) is started again until `timeoutMs`.
   */
  async up(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = this.spawn();
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        // While the AOF loads, commands answer LOADING.
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline)
          throw new Error(
            `redis-server on :${this.port} did not come up in ${timeoutMs} ms (log: ${this.dir}/redis.log)`,
          );
        await sleep(25);
        if (exited.done) exited = this.spawn();
      } finally {
        probe.disconnect();
      }
    }
  }

  private spawn(): { done: boolean } {
    const exited = { done: false };
    this.child = spawnGroup('redis-server', [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--logfile',
      join(this.dir, 'redis.log'),
    ]);
    this.child.once('exit', () => {
      exited.done = true;
    });
    return exited;
  }

  /** SIGTERM is Redis' SHUTDOWN (fsync, then exit); SIGKILL gives it no chance to. */
  async down(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await stopGroup(child, signal, 5_000);
  }

  /** SIGSTOP: the server hangs with its connections open (a stuck node), until resume(). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Milliseconds from each stop's start to PONG after the restart. */
  readonly outagesMs: number[] = [];

  /** `upTimeoutMs`: how long the start may take (a loaded machine needs patience). */
  async restart(
    signal: 'SIGTERM' | 'SIGKILL',
    downMs: number,
    upTimeoutMs = 10_000,
  ): Promise<void> {
    const t0 = Date.now();
    await this.down(signal);
    await sleep(downMs);
    await this.up(upTimeoutMs);
    this.outagesMs.push(Date.now() - t0);
    this.restarts++;
  }

  async destroy(): Promise<void> {
    await this.down('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
