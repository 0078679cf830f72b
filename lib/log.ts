import { pino } from 'pino';

/**
 * The one structured (JSON) logger. Static messages plus fields:
 * `log.info({ runId, job, attempt }, 'job claimed')`. Never log a secret value or
 * a whole event above debug; `redact` is a second line of defence for fields
 * that must never appear.
 */
/** Longest message or stack a log line carries: a Redis error can quote a whole payload. */
const MAX_ERROR_TEXT = 2_000;
const cut = (text: unknown) =>
  typeof text === 'string' && text.length > MAX_ERROR_TEXT
    ? `${text.slice(0, MAX_ERROR_TEXT)}… (${text.length} chars)`
    : text;

/**
 * Errors as pino serialises them, less what can be huge: ioredis attaches the
 * failed command (`command.args`: a script's whole arguments, run payloads
 * included), so only its name is kept; message and stack are cut.
 */
function errSerializer(err: unknown) {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const command = out.command as { name?: unknown } | undefined;
  if (command) out.command = { name: command.name };
  if ('args' in out) delete out.args;
  out.message = cut(out.message);
  out.stack = cut(out.stack);
  return out;
}

export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: undefined,
  serializers: { err: errSerializer },
  redact: {
    paths: ['authorization', 'headers.authorization', 'secrets', '*.secrets'],
    censor: '***',
  },
});

export type Logger = typeof log;
