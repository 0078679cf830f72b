import { startFauxqs } from 'fauxqs';
import type { TestProject } from 'vitest/node';
import {
  sayAwsNodeSupportOnce,
  startRedisCluster,
  startRedisServer,
} from '../../scripts/processes.js';

/**
 * One private redis-server (in the `cluster` project: a 3-master Redis Cluster)
 * and one local SQS (fauxqs) for the whole test run, on
 * free ports, handed to the tests with `provide` (read them through
 * test/support/stack.ts). Redis runs with the append-only file on, like
 * ElastiCache, in a temp dir removed at teardown. A missing redis-server is an
 * error, never a reason to skip.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** `cluster` in the project of that name: a 3-master Redis Cluster (no replicas). */
    redisMode: 'standalone' | 'cluster';
    sqsEndpoint: string;
    region: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const note = sayAwsNodeSupportOnce();
  if (note) console.warn(note);
  const region = 'us-east-1';
  const cluster = project.name === 'cluster';
  const [redis, sqs] = await Promise.all([
    cluster ? startRedisCluster({ masters: 3 }) : startRedisServer({ appendonly: true }),
    startFauxqs({ port: 0, logger: false, defaultRegion: region }),
  ]);
  project.provide('redisUrl', redis.url);
  project.provide('redisMode', cluster ? 'cluster' : 'standalone');
  project.provide('sqsEndpoint', sqs.address);
  project.provide('region', region);
  return async () => {
    await Promise.allSettled([sqs.stop(), redis.stop()]);
  };
}
