import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { log } from './log.js';

/**
 * Run and job metrics as CloudWatch EMF, through Powertools Metrics: the engine
 * records, and each handler flushes once per invocation (`logMetrics` middleware),
 * one JSON line on stdout that CloudWatch Logs turns into metrics. Namespace
 * `flowline`, dimension `service` (POWERTOOLS_SERVICE_NAME: `<service>-<stage>`).
 */
export const metrics = new Metrics({
  namespace: 'flowline',
  logger: {
    debug: (msg: string) => log.debug(msg),
    info: (msg: string) => log.info(msg),
    error: (msg: string) => log.error(msg),
    // Every flush of an invocation that recorded nothing (an idle tick) says so.
    warn: (msg: string) => {
      if (!msg.startsWith('No application metrics')) log.warn(msg);
    },
  },
});

/** The SQS message attribute a delayed send carries, so lag counts from when the task was due. */
export const DELAY_ATTRIBUTE = 'delaySeconds';

const RUN_ENDED: Record<string, string> = {
  succeeded: 'RunsSucceeded',
  failed: 'RunsFailed',
  cancelled: 'RunsCancelled',
};

export function recordRunStarted(): void {
  metrics.addMetric('RunsStarted', MetricUnit.Count, 1);
}

/** A run reached a terminal status (anything else is ignored). */
export function recordRunEnded(status: string): void {
  const name = RUN_ENDED[status];
  if (name) metrics.addMetric(name, MetricUnit.Count, 1);
}

/** One job task's time in the executor, and how long it waited on the queue once due. */
export function recordJobTask(durationMs: number, queueLag: number | undefined): void {
  metrics.addMetric('JobTaskDuration', MetricUnit.Milliseconds, durationMs);
  if (queueLag !== undefined) metrics.addMetric('QueueLag', MetricUnit.Milliseconds, queueLag);
}

/** Receive time − (send time + the send's delay); undefined without SentTimestamp. */
export function queueLagMs(
  record: Pick<SQSRecord, 'attributes' | 'messageAttributes'>,
  receivedAt: number,
): number | undefined {
  const sent = Number(record.attributes.SentTimestamp);
  if (!Number.isFinite(sent) || sent <= 0) return undefined;
  const delay = Number(record.messageAttributes?.[DELAY_ATTRIBUTE]?.stringValue ?? 0);
  return Math.max(0, receivedAt - sent - (Number.isFinite(delay) ? delay * 1000 : 0));
}
