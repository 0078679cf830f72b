import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ROOT, type Stack, startStack } from '../../scripts/stack.js';
import { redisUrl, uniquePrefix } from './stack.js';

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * One local stack (fauxqs, local Secrets Manager, serverless offline) for the
 * calling test file, on the test Redis under a prefix of its own; stopped after
 * the file. Returns a getter: the stack exists once beforeAll has run.
 */
export function useLocalStack(name: string): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix(),
      apiKey: `test-${uniquePrefix()}`,
      logFile: join(ROOT, '.flowline', `e2e-${name}.log`),
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });
  return () => {
    if (!stack) throw new Error('the local stack has not started');
    return stack;
  };
}

/** Call the stack's API with its key: a string body is YAML, an object JSON. */
export async function callApi(
  stack: Stack,
  method: string,
  path: string,
  body?: string | object,
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON, checked by expect
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${stack.apiKey}` };
  if (body !== undefined) {
    headers['content-type'] = typeof body === 'string' ? 'application/yaml' : 'application/json';
  }
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers,
    body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}
