import { randomBytes } from 'node:crypto';
import { type FlowJob, FlowProducer, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { closeApp, createApp } from '../../lib/app.js';
import type { Config } from '../../lib/config.js';
import { admitRun, newRunId } from '../../lib/engine/run/admit.js';
import { IN_FLIGHT, startExecutors, trackRuns } from './executor.js';
import type { FlowNode, Shape } from './shapes.js';
import { benchConfig, type LocalSqs } from './stack.js';

/** One workflow engine under test: runs workflows of a shape to completion. */
export interface Engine {
  name: string;
  /** Submits `runs` runs of the shape at once and resolves when all have succeeded. */
  run(shape: Shape, runs: number): Promise<void>;
  close(): Promise<void>;
}

const RUN_TIMEOUT_MS = 120_000;

/** flowline as deployed, minus Lambda: admitRun, SQS, executeJob in a poll loop. */
export async function startFlowline(
  redisUrl: string,
  sqs: LocalSqs,
  overrides: Partial<Config> = {},
): Promise<Engine> {
  const queueUrl = await sqs.createQueue(`bench-${randomBytes(4).toString('hex')}`);
  const app = createApp({ ...benchConfig(redisUrl, sqs, queueUrl), ...overrides });
  const tracker = trackRuns(app.runs);
  let fault: Error | undefined;
  const executors = startExecutors(
    app,
    { ...app, runs: tracker.store },
    {
      pollers: IN_FLIGHT / 10,
      onError: (err) => {
        fault ??= err;
        tracker.failAll(err);
      },
    },
  );
  return {
    name: 'flowline',
    async run(shape, runs) {
      if (fault) throw fault;
      const done = Array.from({ length: runs }, async () => {
        const runId = newRunId();
        const finished = tracker.expect(runId);
        await admitRun(app, {
          tenant: 'bench',
          spec: shape.spec,
          revision: 0,
          trigger: { type: 'api' },
          runId,
        });
        await finished;
      });
      await withTimeout(Promise.all(done), `flowline ${shape.name}`);
    },
    async close() {
      await executors.stop();
      await closeApp(app);
    },
  };
}

/**
 * BullMQ with its defaults (completed jobs kept, events stream on, stalled checks),
 * one Worker whose processor completes each job at once, except that a DAG's source
 * job first adds the rest of the graph as a flow (see shapes.ts).
 */
export async function startBullmq(port: number, shapes: Shape[]): Promise<Engine> {
  const queueName = 'bench';
  // Own ioredis instances rather than connection options: BullMQ's loader for
  // options uses require(), and the bench runs as ESM.
  const connect = () => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
  const connections = [connect(), connect(), connect()] as const;
  const [queueConn, flowConn, workerConn] = connections;
  const queue = new Queue(queueName, { connection: queueConn });
  const flows = new FlowProducer({ connection: flowConn });
  const byName = new Map(shapes.map((s) => [s.name, s]));
  const waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  const toFlow = (node: FlowNode, data: JobData): FlowJob => ({
    name: node.name,
    queueName,
    data,
    ...(node.children ? { children: node.children.map((c) => toFlow(c, data)) } : {}),
  });

  const worker = new Worker<JobData>(
    queueName,
    async (job: Job<JobData>) => {
      const plan = byName.get(job.data.shape)?.bullmq;
      if (plan?.fanOut && plan.fanOut.after === job.name) {
        await flows.add(toFlow(plan.fanOut.flow, job.data));
      }
      return {};
    },
    { connection: workerConn, concurrency: IN_FLIGHT },
  );
  worker.on('completed', (job: Job<JobData>) => {
    if (byName.get(job.data.shape)?.bullmq.last !== job.name) return;
    waiters.get(job.data.run)?.resolve();
    waiters.delete(job.data.run);
  });
  worker.on('failed', (job: Job<JobData> | undefined, err: Error) => {
    const w = job && waiters.get(job.data.run);
    w?.reject(err);
  });
  await worker.waitUntilReady();

  return {
    name: 'BullMQ',
    async run(shape, runs) {
      const done = Array.from({ length: runs }, async (_, i) => {
        const data: JobData = { shape: shape.name, run: `${shape.name}/${i}/${randomId()}` };
        const finished = new Promise<void>((resolve, reject) =>
          waiters.set(data.run, { resolve, reject }),
        );
        const submit = shape.bullmq.submit;
        if ('job' in submit) await queue.add(submit.job, data);
        else await flows.add(toFlow(submit.flow, data));
        await finished;
      });
      await withTimeout(Promise.all(done), `BullMQ ${shape.name}`);
    },
    async close() {
      await worker.close();
      await flows.close();
      await queue.close();
      await Promise.allSettled(connections.map((c) => c.quit()));
    },
  };
}

interface JobData {
  shape: string;
  run: string;
}

const randomId = () => randomBytes(4).toString('hex');

async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: runs did not finish in ${RUN_TIMEOUT_MS} ms`)),
      RUN_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
