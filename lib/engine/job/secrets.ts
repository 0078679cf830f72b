import { createMasker, type Masker } from '../../secrets/mask.js';
import type { SecretsProvider } from '../../secrets/provider.js';
import { isPlainObject, StepFailedError } from '../../steps/executor.js';

/** The masker of no values (it keeps no state): one for every job that holds none yet. */
const NO_SECRETS = createMasker([]);

/**
 * The secrets a job holds so far (it grows as steps declare more) and the masker of
 * their values: everything a job writes, logs or throws goes through `mask`.
 */
export class JobSecrets {
  masker: Masker = NO_SECRETS;
  /**
   * Every value the job was given, old ones too: a secret rotated mid-job may still
   * sit in its env or an earlier step's outputs.
   */
  private readonly values = new Set<string>();

  constructor(
    private readonly provider: SecretsProvider,
    private readonly tenant: string,
  ) {}

  /**
   * The values of `names`, added to what the job holds and masks. Called for the job
   * and again for each step: the masker (a pattern over every form of every value)
   * is rebuilt only when a value is new.
   */
  async fetch(names: string[]): Promise<Record<string, string>> {
    if (names.length === 0) return {};
    const values = await this.provider.get(this.tenant, names);
    const before = this.values.size;
    for (const v of Object.values(values)) this.values.add(v);
    if (this.values.size !== before) this.masker = createMasker([...this.values]);
    return values;
  }

  mask<T>(value: T): T {
    return this.masker.mask(value);
  }
}

/** A value about to be written to Redis (a child's inputs, a key name) carries a secret. */
export function secretLeak(what: string): StepFailedError {
  return new StepFailedError(
    `${what} would carry a secret value out of this job; pass secrets by name instead`,
    undefined,
    'SECRET_LEAK',
  );
}

/** Secret names a parent run granted this child run (`with: {secrets: [...]}`), from its trigger. */
export function grantedSecrets(trigger: unknown): string[] {
  if (!isPlainObject(trigger) || trigger.type !== 'workflow' || !isPlainObject(trigger.payload)) {
    return [];
  }
  const names = trigger.payload.secrets;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}

/** `with.secrets` of a child step: names this step holds itself (a step cannot grant more). */
export function grantable(value: unknown, held: string[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'string')) {
    throw new StepFailedError(
      "'with.secrets' must be a list of secret names",
      undefined,
      'VALIDATION',
    );
  }
  // Secret names match case-insensitively (as `secrets.X` reads do); the declared spelling is fetched.
  const declared = new Map(held.map((n) => [n.toLowerCase(), n]));
  const missing = value.filter((n) => !declared.has(n.toLowerCase()));
  if (missing.length > 0) {
    throw new StepFailedError(
      `'with.secrets' names ${missing.join(', ')}, not declared in a secrets: list of this step, its job or workflow`,
      undefined,
      'VALIDATION',
    );
  }
  return [...new Set(value.map((n) => declared.get(n.toLowerCase()) as string))];
}
