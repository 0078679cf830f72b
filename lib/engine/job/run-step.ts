import { type ErrorRecord, FlowlineError, toErrorRecord } from '../../errors.js';
import { type ExprContext, evaluateDeep } from '../../expr/index.js';
import type { JobTask } from '../../queue/message.js';
import type { Workflow } from '../../spec/schema.js';
import { executorFor, runWithTimeout, type StepExecutor } from '../../steps/index.js';
import type { PlannedStep } from '../decide/plan.js';
import { nextTry } from '../decide/retry.js';
import { tryTimeoutMs } from '../decide/timeouts.js';

/** Step outputs above this are refused (SPEC.md limits). */
const MAX_OUTPUT_BYTES = 256 * 1024;

export interface StepRun {
  task: JobTask;
  step: PlannedStep;
  ctx: ExprContext;
  env: Record<string, string>;
  spec: Workflow;
  /** Deployment grants, narrowed by the workflow's `permissions.capabilities`. */
  capabilities: string[];
  /** What is left of the invocation and the job's own timeout. */
  timeoutMs: number;
  /** Aborted on cancel or takeover. */
  signal: AbortSignal;
  /** The executor of `lambda:` steps (it holds the app's Lambda client). */
  lambda?: StepExecutor;
  /**
   * Called before each retry with the try that failed (1-based), its error and the
   * backoff; it records the try (a throw stops the retries with that error).
   */
  onRetry?: (failedTry: number, error: ErrorRecord, delayMs: number) => Promise<void>;
  /** The executor of `shell` steps (it holds the app's runner). */
  shell?: StepExecutor;
}

/**
 * Run one step: evaluate `with`, call its executor under the step timeout (capped
 * by what the invocation and job have left), and retry per the step's `retries`
 * in this invocation while the backoff fits. Throws the last attempt's error.
 */
export async function runStep(run: StepRun): Promise<Record<string, unknown>> {
  const { step, task, spec } = run;
  const deadline = Date.now() + run.timeoutMs;
  const granted = spec.permissions?.capabilities;
  const capabilities = granted
    ? new Set(run.capabilities.filter((c) => (granted as string[]).includes(c)))
    : deploymentGrants(run.capabilities);
  for (let attempt = 1; ; attempt++) {
    try {
      const withValue = evaluateDeep(step.step.with ?? {}, run.ctx) as Record<string, unknown>;
      const timeoutMs = tryTimeoutMs(step.step.timeoutMs, deadline, Date.now());
      const outputs =
        (await runWithTimeout(
          executorFor(step.step.uses, { lambda: run.lambda, shell: run.shell }),
          {
            uses: step.step.uses,
            with: withValue,
            env: run.env,
            idempotencyKey: `${task.runId}:${task.jobKey}:${step.key}`,
            capabilities,
            ...(spec.permissions?.hosts ? { allowedHosts: spec.permissions.hosts } : {}),
          },
          timeoutMs,
          run.signal,
        )) ?? {};
      if (Buffer.byteLength(JSON.stringify(outputs)) > MAX_OUTPUT_BYTES) {
        throw new FlowlineError('STEP_FAILED', `step outputs exceed ${MAX_OUTPUT_BYTES} bytes`);
      }
      return outputs;
    } catch (err) {
      const error = toErrorRecord(err);
      const delay = nextTry(step.step.retries, attempt, error, {
        now: Date.now(),
        deadline,
        stopped: run.signal.aborted,
      });
      if (delay === undefined) throw err;
      await run.onRetry?.(attempt, error, delay);
      await sleep(delay, run.signal);
    }
  }
}

/**
 * The deployment's grants as a set, built once per config rather than for every step
 * (a ReadonlySet: executors only read it).
 */
const grantSets = new WeakMap<string[], ReadonlySet<string>>();

function deploymentGrants(capabilities: string[]): ReadonlySet<string> {
  let set = grantSets.get(capabilities);
  if (!set) {
    set = new Set(capabilities);
    grantSets.set(capabilities, set);
  }
  return set;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
