import type { Config } from '../../config.js';
import type { JobQueue } from '../../queue/sqs-queue.js';
import type { SecretsProvider } from '../../secrets/provider.js';
import type { StepExecutor } from '../../steps/executor.js';
import type { ConcurrencyStore } from '../../store/concurrency-store.js';
import type { RunStore } from '../../store/run-store.js';
import type { WorkflowStore } from '../../store/workflow-store.js';

/** What the executor works with: the stores, the queue, secrets, step executors, config. */
export interface ExecuteDeps {
  runs: RunStore;
  queue: JobQueue;
  concurrency: ConcurrencyStore;
  workflows: WorkflowStore;
  secrets: SecretsProvider;
  /** The executor of `lambda:` steps; without one they fail INTERNAL. */
  lambdaSteps?: StepExecutor;
  /**
   * The executor of `shell` steps (the app's runner); without one, this process's
   * sandbox, unless `config.runnerFunction` is set (then they fail INTERNAL).
   */
  shellSteps?: StepExecutor;
  config: Pick<
    Config,
    | 'leaseMs'
    | 'capabilities'
    | 'safetyMarginMs'
    | 'minStepBudgetMs'
    | 'retentionMs'
    | 'maxDescendants'
    | 'runnerFunction'
  >;
  now?: () => number;
  /**
   * Told of each job this process finished; without it each one is a `job finished`
   * line of its own. The execute handler gathers its batch's into one line.
   */
  finished?: (job: FinishedJob) => void;
}

/** A finished job, as the executor logs it. */
export interface FinishedJob {
  runId: string;
  job: string;
  attempt: number;
  status: string;
  /** The run's status when this job ended it. */
  runStatus?: string;
}
