import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callerFor, parseApiKeys } from '../../lib/api/auth.js';
import { main } from '../../lib/cli/main.js';
import { type LocalSecrets, startLocalSecrets } from '../../scripts/local-secrets.js';

/**
 * `flowline keys add|list` through the real Secrets Manager SDK client against the
 * local Secrets Manager endpoint (scripts/local-secrets.ts, the one `npm run dev`
 * serves), whose file shows what was written.
 */
const SECRET = 'flowline-test/api-keys';
let secrets: LocalSecrets;
let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowline-keys-'));
  file = join(dir, 'secrets.json');
  secrets = await startLocalSecrets({ file });
});

afterAll(async () => {
  await secrets.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(file, { force: true });
});

async function flowline(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    {
      FLOWLINE_API_KEYS_SECRET: SECRET,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      AWS_REGION: 'us-east-1',
      ...env,
    },
    {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    },
  );
  return { code, stdout, stderr };
}

const stored = async () => JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;

describe('flowline keys', () => {
  it('add creates the secret, prints a strong key once, and the API accepts it for the tenant', async () => {
    const out = await flowline(['keys', 'add', 'acme']);
    expect(out).toMatchObject({
      code: 0,
      stderr: expect.stringContaining(`added acme to ${SECRET}`),
    });
    const key = out.stdout.trim();
    expect(key).toMatch(/^fl_[A-Za-z0-9_-]{43}$/);
    expect(out.stderr).not.toContain(key);
    expect(await stored()).toEqual({ [SECRET]: `acme:${key}` });
    expect(callerFor(parseApiKeys((await stored())[SECRET] ?? ''), `Bearer ${key}`)).toEqual({
      tenant: 'acme',
      identity: 'acme',
    });
  });

  it('add appends named keys; list prints the labels and never a key', async () => {
    const first = (await flowline(['keys', 'add', 'acme'])).stdout.trim();
    const second = await flowline(['keys', 'add', 'acme/ci', '--secret', SECRET]);
    expect(second.code).toBe(0);
    const ci = second.stdout.trim();
    expect(ci).not.toBe(first);
    expect((await stored())[SECRET]).toBe(`acme:${first},acme/ci:${ci}`);
    const list = await flowline(['keys', 'list']);
    expect(list).toEqual({ code: 0, stdout: 'acme\nacme/ci\n', stderr: '' });
  });

  it('refuses a label already in the list, and a malformed one, writing nothing', async () => {
    await writeFile(file, JSON.stringify({ [SECRET]: 'acme:existing-key-123' }));
    const before = await readFile(file, 'utf8');
    for (const label of ['acme', 'Acme', 'acme/', 'acme/ci/x', 'a:b', '']) {
      const out = await flowline(['keys', 'add', label]);
      expect(out.code, label).toBe(2);
      expect(out.stdout, label).toBe('');
      expect(out.stderr, label).toMatch(/^flowline: /);
    }
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('needs the secret named, and says so', async () => {
    const out = await flowline(['keys', 'list'], { FLOWLINE_API_KEYS_SECRET: '' });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('FLOWLINE_API_KEYS_SECRET');
  });

  it('list of a secret that does not exist yet says how to create it', async () => {
    const out = await flowline(['keys', 'list']);
    expect(out).toMatchObject({ code: 0, stdout: '' });
    expect(out.stderr).toContain('flowline keys add TENANT creates it');
  });
});
