import type {
  GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { cjsExports } from '../cjs-exports.js';

/**
 * What flowline uses of a Secrets Manager client. A SecretsManagerClient is one;
 * createSecretsClient makes one that loads the SDK module at the first read, not at
 * a cold start: most jobs read no secret (bench/cold-start.ts).
 */
export type SecretsClient = Pick<SecretsManagerClient, 'send' | 'destroy'>;

export function createSecretsClient(region: string): SecretsClient {
  let client: SecretsManagerClient | undefined;
  const built = async () => {
    const sdk = cjsExports(await import('@aws-sdk/client-secrets-manager'));
    client ??= new sdk.SecretsManagerClient({ region });
    return client;
  };
  return {
    // The promise form only (flowline passes no callbacks).
    send: ((command: never, options?: never) =>
      built().then((c) => c.send(command, options))) as SecretsManagerClient['send'],
    destroy() {
      client?.destroy();
    },
  };
}

/** One secret's value, the SDK's command module loaded at the first read. */
export async function getSecretValue(
  client: SecretsClient,
  /** Unset only where a caller checked it is set; the SDK refuses it then. */
  secretId: string | undefined,
  options?: { abortSignal?: AbortSignal },
): Promise<GetSecretValueCommandOutput> {
  const { GetSecretValueCommand } = cjsExports(await import('@aws-sdk/client-secrets-manager'));
  return client.send(new GetSecretValueCommand({ SecretId: secretId }), options);
}
