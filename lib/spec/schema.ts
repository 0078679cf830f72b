/**
 * The workflow spec (SPEC.md) as zod schemas. Objects are strict: an unknown key is
 * an error naming the key, because a misspelt `need:` or `timeout:` silently ignored
 * is worse than a rejected registration. Parsing also normalises shapes the engine
 * would otherwise special-case (see the `.default()`s and transforms).
 */
import * as z from 'zod';
import { CAPABILITIES, parseUses, WORKFLOW_NAME } from '../steps/kinds.js';
import { kbLabsWith, kbLabsWithConflicts, oneOrMany } from './kb-labs.js';
import { jsonType, LIMITS } from './limits.js';

export { jsonType, LIMITS } from './limits.js';

export { WORKFLOW_NAME };
/** Job names, step ids, input, output and matrix keys. */
export const IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
/** Secret and environment variable names. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A host name or `*.`-wildcard domain, optionally with a port; no scheme, no path.
const HOST_PATTERN =
  /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:\d{1,5})?$/;

/** Marks the message of a strict object's unknown-key issue; load.ts expands it per key. */
export const UNKNOWN_KEYS_MARK = 'allowed keys: ';

function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `${UNKNOWN_KEYS_MARK}${allowed}`;
      if (iss.code === 'invalid_type' && iss.input !== undefined) {
        return `expected a mapping (object), got ${jsonType(iss.input)}`;
      }
      return undefined;
    },
  });
}

function name(pattern: RegExp, what: string) {
  return z.string().regex(pattern, { error: `${what} must match ${pattern.source}` });
}

const identifier = (what: string) => name(IDENTIFIER, what);
const secretName = name(VARIABLE_NAME, 'secret name');
const positiveInt = z.int().min(1);
const timeoutMs = positiveInt;

// `if: true` in YAML is a boolean; the expression language has the same literal.
const condition = z
  .union([z.string().min(1), z.boolean()], { error: 'must be an expression string' })
  .transform(String);

// Numbers and booleans are accepted the way GitHub Actions does and become text.
const envValue = z
  .union([z.string(), z.number(), z.boolean()], {
    error: 'environment values must be strings, numbers or booleans',
  })
  .transform(String);
const env = z.record(name(VARIABLE_NAME, 'environment variable name'), envValue);
const secrets = z.array(secretName).max(100);
const outputs = z.record(identifier('output name'), z.unknown());
const withArgs = z.record(z.string(), z.unknown());

export const RetriesSchema = strict({
  /** Retries after the first attempt: `max: 2` → at most 3 attempts. */
  max: z.int().min(0),
  backoff: z.enum(['exp', 'lin', 'fixed']).default('exp'),
  initialIntervalMs: z.int().min(0).default(1000),
  maxIntervalMs: z.int().min(0).optional(),
  jitter: z.boolean().default(false),
}).superRefine((r, ctx) => {
  if (r.maxIntervalMs !== undefined && r.maxIntervalMs < r.initialIntervalMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxIntervalMs'],
      message: 'maxIntervalMs must be at least initialIntervalMs',
    });
  }
});

export const ConcurrencySchema = strict({
  group: z.string().min(1).max(256),
  limit: positiveInt.default(1),
  cancelInProgress: z.boolean().default(false),
});

export const StepSchema = strict({
  id: identifier('step id').max(64).optional(),
  name: z.string().min(1).max(256).optional(),
  uses: z.string().superRefine((uses, ctx) => {
    const parsed = parseUses(uses);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  }),
  with: withArgs.optional(),
  if: condition.optional(),
  env: env.optional(),
  secrets: secrets.optional(),
  timeoutMs: timeoutMs.optional(),
  retries: RetriesSchema.optional(),
  continueOnError: z.boolean().default(false),
})
  .superRefine((step, ctx) => {
    for (const { key, message } of kbLabsWithConflicts(step.uses, step.with)) {
      ctx.addIssue({ code: 'custom', path: ['with', key], message });
    }
  })
  // `builtin:` steps also take KB Labs' argument names (kb-labs.ts); stored as flowline's.
  .transform((step) => (step.with ? { ...step, with: kbLabsWith(step.uses, step.with) } : step));

const stepList = z.array(StepSchema).max(LIMITS.stepsPerJob, {
  error: `at most ${LIMITS.stepsPerJob} steps per job`,
});

const matrixScalar = z.union([z.string(), z.number(), z.boolean()]);
const matrixCombination = z.record(identifier('matrix key'), matrixScalar);

/**
 * `{axis: [values], include?: [{..}], exclude?: [{..}]}`. Values are scalars so an
 * instance key `job[k=v]` stays readable; expand with `expandMatrix`.
 */
export const MatrixSchema = z
  .record(
    identifier('matrix key'),
    z.array(z.unknown(), { error: 'each matrix key takes a list of values' }),
  )
  .superRefine((matrix, ctx) => {
    for (const [key, values] of Object.entries(matrix)) {
      const item = key === 'include' || key === 'exclude' ? matrixCombination : matrixScalar;
      if (key !== 'include' && key !== 'exclude' && values.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'a matrix key needs at least one value',
        });
      }
      values.forEach((value, i) => {
        const r = item.safeParse(value);
        if (!r.success) {
          ctx.addIssue({
            code: 'custom',
            path: [key, i],
            message:
              item === matrixScalar
                ? 'matrix values must be strings, numbers or booleans'
                : `${key} entries must be objects of matrix key → string, number or boolean`,
          });
        }
      });
    }
  });

export const StrategySchema = strict({
  matrix: MatrixSchema,
  maxParallel: positiveInt.optional(),
  failFast: z.boolean().default(true),
});

export const HooksSchema = strict({
  pre: stepList.optional(),
  post: stepList.optional(),
  onSuccess: stepList.optional(),
  onFailure: stepList.optional(),
});

const needs = z
  .union([identifier('job name'), z.array(identifier('job name'))], {
    error: 'needs must be a job name or a list of job names',
  })
  .transform((n) => [...new Set(typeof n === 'string' ? [n] : n)]);

export const JobSchema = strict({
  /** Always an array after parsing (a single name is wrapped, duplicates dropped). */
  needs: needs.default([]),
  if: condition.optional(),
  steps: stepList.min(1, { error: 'a job needs at least one step' }),
  outputs: outputs.optional(),
  env: env.optional(),
  secrets: secrets.optional(),
  timeoutMs: timeoutMs.optional(),
  retries: RetriesSchema.optional(),
  concurrency: ConcurrencySchema.optional(),
  priority: z.enum(['high', 'normal', 'low']).default('normal'),
  strategy: StrategySchema.optional(),
  hooks: HooksSchema.optional(),
  continueOnError: z.boolean().default(false),
  /** Accepted for KB Labs specs: `shell` steps run in the runner (`sandbox`) whatever it says. */
  runsOn: z.unknown().optional(),
});

export const InputDefSchema = strict({
  type: z.enum(['string', 'number', 'boolean', 'object', 'array']).default('string'),
  required: z.boolean().default(false),
  default: z.unknown().optional(),
  description: z.string().max(4096).optional(),
  enum: z.array(z.unknown()).min(1).optional(),
}).superRefine((def, ctx) => {
  const ofType = (v: unknown) => jsonType(v) === def.type;
  def.enum?.forEach((v, i) => {
    if (!ofType(v)) {
      ctx.addIssue({
        code: 'custom',
        path: ['enum', i],
        message: `enum values must be of type ${def.type}`,
      });
    }
  });
  if (def.default === undefined) return;
  if (!ofType(def.default)) {
    ctx.addIssue({
      code: 'custom',
      path: ['default'],
      message: `default must be of type ${def.type}`,
    });
  } else if (def.enum && !def.enum.some((v) => JSON.stringify(v) === JSON.stringify(def.default))) {
    ctx.addIssue({ code: 'custom', path: ['default'], message: 'default must be one of enum' });
  }
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const ScheduleSchema = strict({
  cron: z.string().refine((c) => [5, 6].includes(c.trim().split(/\s+/).length), {
    error: 'cron must have 5 fields (or 6 with seconds)',
  }),
  timezone: z.string().refine(isTimeZone, { error: 'unknown IANA time zone' }).optional(),
});

export const TriggersSchema = strict({
  manual: z.boolean().optional(),
  webhook: strict({ secret: secretName }).optional(),
  // A single mapping (KB Labs' shape) is a list of one.
  schedule: z
    .preprocess(
      oneOrMany,
      z
        .array(ScheduleSchema, {
          error: (iss) =>
            iss.code === 'invalid_type'
              ? 'schedule takes a {cron, timezone} mapping or a list of them'
              : undefined,
        })
        .min(1)
        .max(20),
    )
    .optional(),
}).superRefine((on, ctx) => {
  if (on.manual !== true && !on.webhook && !on.schedule) {
    ctx.addIssue({
      code: 'custom',
      message: 'at least one trigger is needed: manual: true, webhook or schedule',
    });
  }
});

export const PermissionsSchema = strict({
  capabilities: z.array(z.enum(CAPABILITIES)).optional(),
  hosts: z
    .array(
      z.string().regex(HOST_PATTERN, {
        error: 'a host is a name like api.example.com or *.example.org (no scheme or path)',
      }),
    )
    .optional(),
});

export const WorkflowSchema = strict({
  name: name(WORKFLOW_NAME, 'name'),
  // YAML core schema turns `1.0` into a number; load.ts restores the source text, and
  // a number arriving any other way (JSON) is kept as its shortest text.
  version: z
    .union([z.string().min(1).max(128), z.number().transform(String)], {
      error: 'version must be a string',
    })
    .optional(),
  description: z.string().max(4096).optional(),
  on: TriggersSchema,
  inputs: z.record(identifier('input name'), InputDefSchema).optional(),
  env: env.optional(),
  secrets: secrets.optional(),
  permissions: PermissionsSchema.optional(),
  concurrency: ConcurrencySchema.optional(),
  timeoutMs: timeoutMs.optional(),
  outputs: outputs.optional(),
  jobs: z.record(identifier('job name'), JobSchema).superRefine((jobs, ctx) => {
    const n = Object.keys(jobs).length;
    if (n === 0) ctx.addIssue({ code: 'custom', message: 'a workflow needs at least one job' });
    if (n > LIMITS.jobs) {
      ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.jobs} jobs (got ${n})` });
    }
  }),
});

export type Workflow = z.infer<typeof WorkflowSchema>;
/** What a spec author writes (before defaults and normalisation). */
export type WorkflowInput = z.input<typeof WorkflowSchema>;
export type Job = z.infer<typeof JobSchema>;
export type Step = z.infer<typeof StepSchema>;
export type Retries = z.infer<typeof RetriesSchema>;
export type Concurrency = z.infer<typeof ConcurrencySchema>;
export type InputDef = z.infer<typeof InputDefSchema>;
export type Strategy = z.infer<typeof StrategySchema>;
export type Hooks = z.infer<typeof HooksSchema>;
export type Triggers = z.infer<typeof TriggersSchema>;
export type Permissions = z.infer<typeof PermissionsSchema>;
export type HookName = keyof Hooks;
