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

  /** Starts redis-server and resolves once it answers PING (the AOF is loaded by then). */
  async up(timeoutMs = 10_000): Promise<void> {
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
    const deadline = Date.now() + timeoutMs;
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
            `redis-server on :${this.port} did not come up (log: ${this.dir}/redis.log)`,
          );
        await sleep(25);
      } finally {
        probe.disconnect();
      }
    }
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

  async restart(signal: 'SIGTERM' | 'SIGKILL', downMs: number): Promise<void> {
    const t0 = Date.now();
    await this.down(signal);
    await sleep(downMs);
    await this.up();
    this.outagesMs.push(Date.now() - t0);
    this.restarts++;
  }

  async destroy(): Promise<void> {
    await this.down('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
