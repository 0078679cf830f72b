import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { type Config, loadConfig } from '../../lib/config.js';
import { createSqsClient } from '../../lib/queue/sqs-queue.js';
import {
  type RedisServer,
  spawnGroup,
  startRedisServer,
  stopGroup,
} from '../../scripts/processes.js';
import { ROOT } from '../../scripts/stack.js';

export const REGION = 'us-east-1';

/**
 * Teardown steps, run last-in first-out. Everything a bench starts registers here,
 * so an error, or Ctrl-C, still stops redis-server and the local SQS: the children
 * are detached process groups and would otherwise outlive the bench.
 */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> }[] = [];

  /** Registers a step; the returned function runs it now (once) and unregisters it. */
  add(name: string, run: () => Promise<void>): () => Promise<void> {
    const step = { name, run };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i === -1) return;
      this.steps.splice(i, 1);
      await step.run();
    };
  }

  async runAll(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      if (!step) break;
      try {
        await step.run();
      } catch (err) {
        console.error(`cleanup '${step.name}' failed:`, err);
      }
    }
  }
}

/** Runs a bench's main with a Cleanup that always runs: on return, on error, on SIGINT/SIGTERM. */
export async function runMain(main: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  let stopping = false;
  const interrupted = (signal: NodeJS.Signals) => {
    stopping = true;
    console.error(`\n${signal}: stopping what the bench started`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await main(cleanup);
  } catch (err) {
    // After an interrupt the main flow fails on servers already stopped: not news.
    if (!stopping) console.error(err);
    process.exitCode = 1;
  } finally {
    await cleanup.runAll();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/** A private redis-server on a free port, stopped (and its temp dir removed) by cleanup. */
export async function startRedis(
  cleanup: Cleanup,
  opts: { appendonly: boolean },
): Promise<RedisServer & { stop: () => Promise<void> }> {
  const server = await startRedisServer({ appendonly: opts.appendonly });
  const stop = cleanup.add(`redis-server :${server.port}`, () => server.stop());
  return { ...server, stop };
}

export interface LocalSqs {
  endpoint: string;
  /** Creates a standard queue and returns its URL. */
  createQueue(name: string): Promise<string>;
}

/** Starts fauxqs in a child process and prints its address (`ownProcess`). */
const FAUXQS_CHILD = `import { startFauxqs } from 'fauxqs';
const server = await startFauxqs({ port: 0, logger: false, defaultRegion: process.argv[1] });
console.log(server.address);`;

/**
 * fauxqs, stopped by cleanup: in this process (as the test setup runs it), or with
 * `ownProcess` in a child, so its HTTP server's CPU does not land on the event loop
 * whose latencies a bench measures (on AWS, SQS is not in the function's process).
 */
export async function startLocalSqs(
  cleanup: Cleanup,
  opts: { ownProcess?: boolean } = {},
): Promise<LocalSqs> {
  let address: string;
  if (opts.ownProcess) {
    const child = spawnGroup(
      process.execPath,
      ['--input-type=module', '-e', FAUXQS_CHILD, REGION],
      { cwd: ROOT },
    );
    cleanup.add('fauxqs process', () => stopGroup(child));
    address = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n')[0] ?? '';
        if (out.includes('\n')) resolve(line.trim());
      });
      child.once('exit', (code) => reject(new Error(`fauxqs process exited with ${code}`)));
    });
  } else {
    const server = await startFauxqs({ port: 0, logger: false, defaultRegion: REGION });
    cleanup.add('fauxqs', () => server.stop());
    address = server.address;
  }
  const client = createSqsClient({ region: REGION, sqsEndpoint: address });
  cleanup.add('sqs setup client', async () => client.destroy());
  return {
    endpoint: address,
    async createQueue(name) {
      // Visibility well above any bench's length: a redelivery would be a second
      // claim attempt and muddle both the command counts and the latencies.
      const out = await client.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '300' } }),
      );
      if (!out.QueueUrl) throw new Error(`fauxqs returned no URL for queue ${name}`);
      return out.QueueUrl;
    },
  };
}

/**
 * A bench app's Config, parsed from an env object by the same loadConfig the
 * handlers use, so every setting the bench does not name keeps the deployed default
 * (and a setting added later needs no change here).
 */
export function benchConfig(redisUrl: string, sqs: LocalSqs, queueUrl: string): Config {
  return loadConfig({
    REDIS_URL: redisUrl,
    FLOWLINE_KEY_PREFIX: 'fl',
    FLOWLINE_QUEUE_URL: queueUrl,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_REGION: REGION,
  });
}
