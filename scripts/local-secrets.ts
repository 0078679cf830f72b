import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Secrets Manager endpoint for `AWS_ENDPOINT_URL_SECRETS_MANAGER`: the
 * JSON protocol's GetSecretValue over a file `{"flowline/acme/NAME": "value"}`,
 * re-read on every request so edits apply at once. No emulator exists on npm,
 * and this is all flowline calls (DESIGN.md, "Local stack").
 */
export interface LocalSecrets {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startLocalSecrets(
  opts: { file?: string; port?: number; region?: string } = {},
): Promise<LocalSecrets> {
  const file = opts.file ?? process.env.FLOWLINE_SECRETS_FILE ?? '.secrets.local.json';
  const region = opts.region ?? 'us-east-1';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== 'secretsmanager.GetSecretValue') {
        return reply(400, {
          __type: 'UnknownOperationException',
          message: `not served: ${target}`,
        });
      }
      let id = '';
      try {
        id = String(JSON.parse(Buffer.concat(chunks).toString('utf8')).SecretId ?? '');
      } catch {
        return reply(400, { __type: 'SerializationException', message: 'malformed JSON body' });
      }
      let secrets: Record<string, unknown>;
      try {
        secrets = await readSecrets(file);
      } catch (err) {
        return reply(500, { __type: 'InternalServiceError', message: `${file}: ${err}` });
      }
      const name = id.startsWith('arn:') ? (id.split(':secret:')[1] ?? '') : id;
      const value = secrets[name];
      if (typeof value !== 'string') {
        return reply(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:${region}:000000000000:secret:${name}`,
        Name: name,
        SecretString: value,
        VersionId: 'local',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 0,
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A missing file is an empty store; a malformed one is an error worth seeing. */
async function readSecrets(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}
