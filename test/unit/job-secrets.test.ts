import { describe, expect, it } from 'vitest';
import { JobSecrets } from '../../lib/engine/job/secrets.js';
import type { SecretsProvider } from '../../lib/secrets/provider.js';

/** A provider over fixed values (the real one is Secrets Manager behind a TTL cache). */
function provider(values: Record<string, string>): SecretsProvider & { calls: number } {
  return {
    calls: 0,
    async get(_tenant, names) {
      this.calls++;
      return Object.fromEntries(names.map((n) => [n, values[n] ?? '']));
    },
  };
}

describe('JobSecrets', () => {
  it('masks what it fetched, and keeps its masker while nothing new arrives', async () => {
    const values = { TOKEN: 's3cret-token', KEY: 'k3y-value' };
    const secrets = new JobSecrets(provider(values), 'acme');
    await secrets.fetch(['TOKEN']);
    const masker = secrets.masker;
    expect(secrets.mask('x s3cret-token y')).toBe('x *** y');

    // Each step fetches the job's names again: same values, same masker.
    await secrets.fetch(['TOKEN']);
    await secrets.fetch([]);
    expect(secrets.masker).toBe(masker);

    // A step's own secret is new: the masker covers both.
    await secrets.fetch(['TOKEN', 'KEY']);
    expect(secrets.masker).not.toBe(masker);
    expect(secrets.mask('s3cret-token k3y-value')).toBe('*** ***');
  });

  it('masks a rotated value from the fetch that sees it, and still the value it replaced', async () => {
    const values = { TOKEN: 'first-value' };
    const secrets = new JobSecrets(provider(values), 'acme');
    await secrets.fetch(['TOKEN']);
    values.TOKEN = 'second-value';
    await secrets.fetch(['TOKEN']);
    expect(secrets.mask('second-value')).toBe('***');
    // The job may still hold the old value (its env, an earlier step's outputs).
    expect(secrets.mask('first-value')).toBe('***');
  });
});
