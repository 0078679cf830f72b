import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The deployed bundles split what `import()` loads into chunks (serverless.yml,
 * `splitting`), and an `import()` of a CommonJS package then yields only `default`
 * (lib/cjs-exports.ts). Tests run the sources, not the bundle, so this builds a
 * module of the lazily loading call sites with serverless.yml's own esbuild options
 * and runs them: an SDK or undici read the wrong way fails with "is not a constructor".
 */
const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
let server: Server;
let url: string;
let bundle: {
  httpGet(url: string): Promise<unknown>;
  lambdaError(endpoint: string): Promise<string>;
  secretsError(): Promise<string>;
};
const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowline-bundle-'));
  const yml = parse(await readFile(join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' });
  const o = yml.custom.esbuild;
  expect(o.splitting).toBe(true);
  await build({
    entryPoints: [join(ROOT, 'test', 'fixtures', 'bundle', 'lazy-imports.ts')],
    outdir: dir,
    outExtension: { '.js': o.outputFileExtension },
    bundle: o.bundle,
    splitting: o.splitting,
    chunkNames: o.chunkNames,
    sourcemap: o.sourcemap,
    target: o.target,
    platform: o.platform,
    format: o.format,
    banner: o.banner,
    logLevel: 'error',
  });
  bundle = await import(pathToFileURL(join(dir, `lazy-imports${o.outputFileExtension}`)).href);
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A port nothing listens on: the call gets as far as the network, no further. */
async function deadEndpoint(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('lazily loaded CommonJS packages in the split bundle', () => {
  it('undici (http steps) answers a request', async () => {
    expect(await bundle.httpGet(url)).toBe(200);
  });

  it('the Lambda SDK builds its client and reaches the network', async () => {
    const error = await bundle.lambdaError(await deadEndpoint());
    expect(error).not.toMatch(/not a constructor|not a function|undefined/);
    expect(error).toMatch(/ECONNREFUSED|connect|socket|network/i);
  });

  it('the Secrets Manager SDK builds its client and command and reaches the network', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = await deadEndpoint();
    const error = await bundle.secretsError();
    expect(error).not.toMatch(/not a constructor|not a function|undefined/);
    expect(error).toMatch(/ECONNREFUSED|connect|socket|network/i);
  });
});
