import { describe, expect, it } from 'vitest';
import { createSqsClient } from '../../lib/queue/sqs-queue.js';

describe('createSqsClient', () => {
  // sqs-queue.ts says why: TLS already checks the bytes, and the hash cost every batch.
  it.each([
    ['AWS', { region: 'us-east-1', sqsEndpoint: undefined }],
    ['a local endpoint', { region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9324' }],
  ])('turns the SDK MD5 body check off and caches the middleware (%s)', (_, config) => {
    const client = createSqsClient(config);
    try {
      expect(client.config.md5).toBe(false);
      // The middleware stack is resolved once per command, not on every send.
      expect(client.config.cacheMiddleware).toBe(true);
    } finally {
      client.destroy();
    }
  });
});
