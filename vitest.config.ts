import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
