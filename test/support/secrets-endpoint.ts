import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny Secrets Manager endpoint for tests: the JSON protocol's GetSecretValue,
 * enough for the real SDK client (`new SecretsManagerClient({ endpoint })`).
 * `secrets` maps secret ids to SecretString values; a Uint8Array value is served as
 * SecretBinary. Every request's SecretId is recorded in `requests`.
 */
export interface SecretsEndpoint {
  endpoint: string;
  secrets: Map<string, string | Uint8Array>;
  requests: string[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

export async function startSecretsEndpoint(
  initial: Record<string, string | Uint8Array> = {},
): Promise<SecretsEndpoint> {
  const secrets = new Map(Object.entries(initial));
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    const target = req.headers['x-amz-target'];
    const input = JSON.parse((await readBody(req)) || '{}') as { SecretId?: string };
    if (target !== 'secretsmanager.GetSecretValue') {
      send(400, { __type: 'InvalidRequestException', message: `unsupported ${String(target)}` });
      return;
    }
    const id = input.SecretId ?? '';
    requests.push(id);
    const value = secrets.get(id);
    if (value === undefined) {
      send(400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
      return;
    }
    const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`;
    send(200, {
      ARN: arn,
      Name: id,
      VersionId: '00000000-0000-0000-0000-000000000000',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Math.floor(Date.now() / 1000),
      ...(typeof value === 'string'
        ? { SecretString: value }
        : { SecretBinary: Buffer.from(value).toString('base64') }),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    secrets,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
