import { defineConfig } from 'vitest/config';

/**
 * The integration files rerun against a local 3-master Redis Cluster (the
 * `cluster` project; global-setup.ts starts it): every run transition, index and
 * listing the engine does, on the topology ElastiCache cluster mode has.
 */
const ON_CLUSTER = [
  'engine',
  'matrix',
  'concurrency',
  'cancel',
  'waits',
  'child-workflows',
  'schedule',
  'reliability',
  'rerun',
  'api',
  'redis-cluster',
  'dag-cascade',
  'claim-job',
  'lua-errors',
  'run-end',
  'finish-lean',
].map((name) => `test/integration/${name}.test.ts`);

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'standalone',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/redis-cluster.test.ts'],
        },
      },
      { extends: true, test: { name: 'cluster', include: ON_CLUSTER } },
    ],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 90_000,
    // The local SQS and Secrets Manager endpoints accept any credentials, but the
    // SDK signs every request and needs some.
    env: {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      LOG_LEVEL: 'silent',
      // Engine tests record run metrics with no handler to flush them; the metrics
      // test turns them on for its own handlers.
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
