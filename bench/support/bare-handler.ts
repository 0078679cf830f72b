import { SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';

/**
 * The cold-start baseline of bench/cold-start.ts: the least a flowline engine
 * handler could load, an SQS client and an ioredis client (not connected), built
 * at module scope as a bare SDK + ioredis Lambda would.
 */
const sqs = new SQSClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });

export const handler = async () => ({ sqs: typeof sqs.send, redis: redis.status });
