import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Secrets Manager endpoint for `AWS_ENDPOINT_URL_SECRETS_MANAGER`: the
 * JSON protocol's GetSecretValue, PutSecretValue and CreateSecret over a file
 * `{"flowline/acme/NAME": "value"}`, re-read on every request so edits apply at
 * once. No emulator exists on npm, and this is all flowline calls (DESIGN.md,
 * "Local stack"); the writes serve `flowline keys add`.
 */
export interface LocalSecrets {
  url: string;
  port: number;
  stop(): Promise<void>;
}

type Reply = [status: number, body: unknown];

const notFound: Reply = [
  400,
  {
    __type: 'ResourceNotFoundException',
    message: "Secrets Manager can't find the specified secret.",
  },
];

export async function startLocalSecrets(
  opts: { file?: string; port?: number; region?: string } = {},
): Promise<LocalSecrets> {
  const file = opts.file ?? process.env.FLOWLINE_SECRETS_FILE ?? '.secrets.local.json';
  const region = opts.region ?? 'us-east-1';
  const arnOf = (name: string) => `arn:aws:secretsmanager:${region}:000000000000:secret:${name}`;
  /** Writes one at a time, so two requests never lose each other's secret. */
  let writes: Promise<unknown> = Promise.resolve();

  async function answer(target: string, input: Record<string, unknown>): Promise<Reply> {
    const id = String(input.SecretId ?? input.Name ?? '');
    const name = id.startsWith('arn:') ? (id.split(':secret:')[1] ?? '') : id;
    switch (target) {
      case 'secretsmanager.GetSecretValue': {
        const value = (await readSecrets(file))[name];
        if (typeof value !== 'string') return notFound;
        return [
          200,
          {
            ARN: arnOf(name),
            Name: name,
            SecretString: value,
            VersionId: 'local',
            VersionStages: ['AWSCURRENT'],
            CreatedDate: 0,
          },
        ];
      }
      case 'secretsmanager.PutSecretValue':
      case 'secretsmanager.CreateSecret': {
        if (typeof input.SecretString !== 'string') {
          return [
            400,
            { __type: 'InvalidParameterException', message: 'SecretString is required' },
          ];
        }
        const value = input.SecretString;
        const creating = target === 'secretsmanager.CreateSecret';
        const write = writes.then(async (): Promise<Reply> => {
          const secrets = await readSecrets(file);
          const exists = typeof secrets[name] === 'string';
          if (!creating && !exists) return notFound;
          if (creating && exists) {
            return [400, { __type: 'ResourceExistsException', message: `${name} already exists` }];
          }
          secrets[name] = value;
          await writeFile(`${file}.tmp`, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
          await rename(`${file}.tmp`, file);
          return [200, { ARN: arnOf(name), Name: name, VersionId: 'local' }];
        });
        writes = write.catch(() => {});
        return write;
      }
      default:
        return [400, { __type: 'UnknownOperationException', message: `not served: ${target}` }];
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const reply = ([status, body]: Reply) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply([400, { __type: 'SerializationException', message: 'malformed JSON body' }]);
      }
      try {
        reply(await answer(String(req.headers['x-amz-target'] ?? ''), input));
      } catch (err) {
        reply([500, { __type: 'InternalServiceError', message: `${file}: ${err}` }]);
      }
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
