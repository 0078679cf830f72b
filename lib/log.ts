import {
  LogFormatter,
  LogItem,
  LogLevelThreshold,
  Logger as PowertoolsLogger,
} from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * The one structured (JSON) logger. Static messages plus fields:
 * `log.info({ runId, job, attempt }, 'job claimed')`. Never log a secret value or
 * a whole event above debug; the fields in REDACTED are censored at any depth, a
 * second line of defence for what must never appear.
 *
 * Powertools Logger (the Lambda logger of the Powertools family whose Metrics we
 * use: same commons, levels from LOG_LEVEL and Lambda's own log-level control)
 * writes the lines; pino did before and cost twice as much at every cold start
 * (bench/README.md, cold start). The line keeps pino's shape:
 * `{"level":30,"time":<epoch ms>,"msg":"…", ...fields}`, an error under `err` as
 * `{type, message, stack, ...its fields}`.
 */

/** Longest message or stack a log line carries: a Redis error can quote a whole payload. */
const MAX_ERROR_TEXT = 2_000;
const REDACTED = new Set(['authorization', 'secrets']);
const CENSOR = '***';
/** pino's level numbers, which the lines have always carried. */
const LEVEL_NUMBERS: Record<string, number> = {
  TRACE: 10,
  DEBUG: 20,
  INFO: 30,
  WARN: 40,
  ERROR: 50,
  CRITICAL: 60,
};
/** LOG_LEVEL takes pino's names (trace … fatal, silent); Powertools calls fatal CRITICAL. */
const LEVEL_NAMES: Record<
  string,
  'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT'
> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'CRITICAL',
  silent: 'SILENT',
};

const cut = (text: unknown) =>
  typeof text === 'string' && text.length > MAX_ERROR_TEXT
    ? `${text.slice(0, MAX_ERROR_TEXT)}… (${text.length} chars)`
    : text;

/** Causes a line follows before it stops (pino's serializer stopped at a cycle too). */
const MAX_CAUSES = 10;

/**
 * An error as a log line carries it, less what can be huge: ioredis attaches the
 * failed command (`command.args`: a script's whole arguments, run payloads
 * included), so only its name is kept; message and stack are cut, and a cause's
 * message and stack follow its error's (as pino's serializer wrote them). An error
 * met again (a cause cycle, a field pointing back) is not followed again: logging
 * must not throw from the catch blocks that call it.
 */
export function serializeError(err: Error, seen = new Set<Error>()): Record<string, unknown> {
  seen.add(err);
  const out: Record<string, unknown> = {
    type: err.constructor?.name || err.name,
    message: err.message,
    stack: err.stack,
  };
  let causes = 0;
  for (let cause = err.cause; cause instanceof Error; cause = cause.cause) {
    if (seen.has(cause) || ++causes > MAX_CAUSES) {
      out.message = `${out.message}: ...`;
      break;
    }
    seen.add(cause);
    out.message = `${out.message}: ${cause.message}`;
    out.stack = `${out.stack}\ncaused by: ${cause.stack}`;
  }
  for (const [key, value] of Object.entries(err)) {
    if (key in out || key === 'cause' || key === 'args') continue;
    if (!(value instanceof Error)) out[key] = value;
    else out[key] = seen.has(value) ? '[Circular]' : serializeError(value, seen);
  }
  const command = out.command as { name?: unknown } | undefined;
  if (command && typeof command === 'object') out.command = { name: command.name };
  out.message = cut(out.message);
  out.stack = cut(out.stack);
  return out;
}

/** A field's value as written: errors serialised, secrets censored at any depth. */
function replaceValue(key: string, value: unknown): unknown {
  // Header names come in any case (API Gateway passes `Authorization` as sent).
  if (REDACTED.has(key.toLowerCase())) return CENSOR;
  return value instanceof Error ? serializeError(value) : value;
}

/** Keeps every field as given, `null` and `''` too (Powertools' own item drops them). */
class LineItem extends LogItem {
  override prepareForPrint(): void {}
}

class PinoShapedFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, extra: LogAttributes): LogItem {
    // The caller's fields travel whole under one key: Powertools would drop (and warn
    // about) a field named like its own (`level`, `message`, `service`, `timestamp`).
    const fields = (extra as { [FIELDS]?: object })[FIELDS] ?? {};
    const level = LEVEL_NUMBERS[attributes.logLevel] ?? attributes.logLevel;
    const time = attributes.timestamp.getTime();
    // pino's order (level, time, the fields, msg); a field cannot pass for level or time.
    const line: LogAttributes = { level, time, ...fields, msg: attributes.message };
    line.level = level;
    line.time = time;
    return new LineItem({ attributes: line });
  }
}

const FIELDS = 'flowlineFields';

const logger = new PowertoolsLogger({
  logLevel: LEVEL_NAMES[process.env.LOG_LEVEL ?? 'info'] ?? 'INFO',
  logFormatter: new PinoShapedFormatter(),
  jsonReplacerFn: replaceValue,
});

type Fields = object;
type LogMethod = (fieldsOrMessage: Fields | string, msg?: string) => void;

/**
 * A level's method. A line below the logger's level returns before anything is built:
 * Powertools would read the environment (the X-Ray trace id) first, on every call.
 */
function method(threshold: number, write: (msg: string, extra: LogAttributes) => void): LogMethod {
  return (fieldsOrMessage, msg) => {
    if (threshold < logger.level) return;
    if (typeof fieldsOrMessage === 'string') write(fieldsOrMessage, {});
    else write(msg ?? '', { [FIELDS]: fieldsOrMessage });
  };
}

/** `log.info(fields, msg)` or `log.info(msg)`, as with pino. */
export const log = {
  debug: method(LogLevelThreshold.DEBUG, (m, e) => logger.debug(m, e)),
  info: method(LogLevelThreshold.INFO, (m, e) => logger.info(m, e)),
  warn: method(LogLevelThreshold.WARN, (m, e) => logger.warn(m, e)),
  error: method(LogLevelThreshold.ERROR, (m, e) => logger.error(m, e)),
};

export type Logger = typeof log;
