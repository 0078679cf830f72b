import { pino } from 'pino';

/**
 * The one structured (JSON) logger. Static messages plus fields:
 * `log.info({ runId, job, attempt }, 'job claimed')`. Never log a secret value or
 * a whole event above debug; `redact` is a second line of defence for fields
 * that must never appear.
 */
export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: undefined,
  redact: {
    paths: ['authorization', 'headers.authorization', 'secrets', '*.secrets'],
    censor: '***',
  },
});

export type Logger = typeof log;
