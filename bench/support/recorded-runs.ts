import { Command, Redis } from 'ioredis';
import { withScripts } from '../../lib/store/scripts.js';
import { startFlowline } from './engines.js';
import { nameScripts } from './redis-meter.js';
import { allShapes, manySteps, oneStep, type Shape } from './shapes.js';
import { type Cleanup, startLocalSqs, startRedis } from './stack.js';

export type Recorded = { name: string; args: (string | Buffer | number)[] };
export interface RecordedRun {
  shape: Shape;
  /** Every request the clients sent for one run of the shape, in order. */
  commands: Recorded[];
}

/** Requests that are the clients' own housekeeping, not the run's work. */
const HOUSEKEEPING = ['info', 'client', 'select', 'ping', 'script'];

/**
 * One run of each shape through flowline (API submit, SQS, pollers), every request the
 * clients send recorded, and a quiet private redis-server to replay them on. The
 * replay is deterministic: tokens, claim ids and clocks are in the recorded arguments.
 * Scripts are named (redis-meter.ts scriptName) by their sha.
 */
export async function recordRuns(
  cleanup: Cleanup,
): Promise<{ runs: RecordedRun[]; replay: Redis }> {
  const named = withScripts(new Redis({ lazyConnect: true }));
  nameScripts(named);
  named.disconnect();
  const sqs = await startLocalSqs(cleanup);
  const live = await startRedis(cleanup, { appendonly: false });
  const quiet = await startRedis(cleanup, { appendonly: false });
  const engine = await startFlowline(
    live.url,
    sqs,
    {},
    { submit: 'api', connections: 'per-poller' },
  );
  cleanup.add(engine.name, async () => engine.close());
  const shapes = [oneStep(), ...allShapes(), manySteps()];
  // A first run of each warms the engine (registrations, script loads) unrecorded.
  for (const shape of shapes) await engine.run(shape, 1);

  let recording: Recorded[] | undefined;
  const original = Command.prototype.toWritable;
  Command.prototype.toWritable = function recorded(this: Command, socket: object) {
    const port = (socket as { remotePort?: number }).remotePort ?? 0;
    if (recording && port === live.port)
      recording.push({ name: this.name, args: [...(this.args as never[])] });
    return original.call(this, socket);
  };
  const runs: RecordedRun[] = [];
  try {
    for (const shape of shapes) {
      recording = [];
      await engine.run(shape, 1);
      await new Promise((r) => setTimeout(r, 200));
      runs.push({ shape, commands: recording.filter((c) => !HOUSEKEEPING.includes(c.name)) });
    }
  } finally {
    Command.prototype.toWritable = original;
  }
  const replay = new Redis(quiet.port, '127.0.0.1');
  cleanup.add('replay client', async () => replay.disconnect());
  return { runs, replay };
}
