import { useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { Failure, Json, Notice, Page, RunLink, Status } from '../components.js';
import { clock, duration, elapsed, preview } from '../format.js';
import { JobGraph, layoutJobs, statusIcon } from '../graph.js';
import { useNow, usePolling } from '../live.js';
import {
  type EventDoc,
  type EventPage,
  isFinalStatus,
  type JobDoc,
  type RerunSummary,
  type RunDoc,
  type StepDoc,
} from '../types.js';
import { type Part, waitingReason } from '../waiting.js';

/** Events kept on the page; older ones drop off the timeline. */
const MAX_EVENTS = 2000;
const POLL_MS = 1000;

const enc = encodeURIComponent;
const isFatal = (err: unknown) =>
  err instanceof ApiError && (err.status === 401 || err.status === 404);

/** A run has settled when it ended and no job is still winding down (a cancel in flight). */
const settled = (run: RunDoc) =>
  isFinalStatus(run.status) &&
  Object.values(run.jobs).every((j) => isFinalStatus(j.status) || j.status === 'pending');

/** The job shown by default: the first that waits, else failed, else runs, else the last. */
function defaultJob(run: RunDoc): string | undefined {
  const keys = Object.keys(run.jobs);
  for (const status of ['waiting', 'failed', 'running']) {
    const key = keys.find((k) => run.jobs[k]?.status === status);
    if (key) return key;
  }
  return keys.at(-1);
}

/**
 * One run, live: it tails the run's events (GET …/events?after=cursor, every
 * second) and reloads the run document whenever new events arrive, so a status
 * change shows within a poll and a request, without a reload.
 */
export function RunPage({ id }: { id: string }) {
  const [run, setRun] = useState<RunDoc | null>(null);
  const [events, setEvents] = useState<EventDoc[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [picked, setPicked] = useState<string>();
  const cursor = useRef<string | null>(null);
  const ticks = useRef(0);

  const live = !isFatal(error) && !(run && settled(run));
  const poke = usePolling(
    async () => {
      try {
        const after = cursor.current ? `&after=${enc(cursor.current)}` : '';
        const page = await api<EventPage>('GET', `/v1/runs/${enc(id)}/events?limit=1000${after}`);
        cursor.current = page.next ?? cursor.current;
        if (page.items.length > 0) setEvents((old) => [...old, ...page.items].slice(-MAX_EVENTS));
        // Waits (who holds a slot) change without events: a fresh document every few ticks.
        if (page.items.length > 0 || ticks.current++ % 5 === 0) {
          setRun(await api<RunDoc>('GET', `/v1/runs/${enc(id)}`));
        }
        setError(null);
      } catch (err) {
        setError(err);
      }
    },
    POLL_MS,
    live,
  );
  const now = useNow(1000, live);
  const shape = run ? JSON.stringify(Object.entries(run.jobs).map(([k, j]) => [k, j.needs])) : '';
  const layout = useMemo(() => (run ? layoutJobs(run.jobs) : null), [shape]);

  // A key rejected (or a run gone) later on replaces the page too, not only a first load.
  if (!run || !layout || isFatal(error)) {
    return (
      <Page title="Run">
        {error ? <Failure error={error} what="run" /> : <p class="muted">Loading…</p>}
      </Page>
    );
  }

  const act = async (action: () => Promise<unknown>) => {
    setActionError(null);
    setBusy(true);
    try {
      await action();
      poke();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };
  const post = (path: string, body: unknown = {}) =>
    act(() => api('POST', `/v1/runs/${enc(id)}/${path}`, body));
  const selected = picked && run.jobs[picked] ? picked : defaultJob(run);
  const waiting = Object.entries(run.jobs).filter(
    ([, j]) => j.status === 'waiting' && j.waitingFor,
  );
  const runStart = Date.parse(run.createdAt ?? '') || 0;

  return (
    <Page>
      <div class="run-head">
        <div>
          <h1>
            <a class="plain" href={`/ui/workflows?name=${enc(run.workflow)}`}>
              {run.workflow}
            </a>{' '}
            <Status status={run.status} />
          </h1>
          <p class="sub">
            <span class="mono">{run.id}</span>
            {run.revision > 0 && <span>revision {run.revision}</span>}
            {run.version && <span>version {run.version}</span>}
            <span>
              {run.trigger.type ?? 'api'}
              {run.trigger.actor ? ` by ${run.trigger.actor}` : ''}
            </span>
            {run.createdAt && <span>created {clock(run.createdAt)}</span>}
            {run.startedAt && (
              <span>
                {run.finishedAt ? 'took' : 'running for'}{' '}
                {elapsed(run.startedAt, run.finishedAt, now)}
              </span>
            )}
            {run.parentRunId && (
              <span>
                child of <RunLink id={run.parentRunId} />
              </span>
            )}
            {run.rerunOf && (
              <span>
                rerun of <RunLink id={run.rerunOf} />
              </span>
            )}
          </p>
        </div>
        <div class="actions">
          {!isFinalStatus(run.status) && (
            <button
              type="button"
              class="danger"
              data-action="cancel"
              disabled={busy}
              onClick={() => {
                if (confirm('Cancel this run? Running and waiting jobs are cancelled.')) {
                  void post('cancel', { reason: 'cancelled from the web UI' });
                }
              }}
            >
              Cancel run
            </button>
          )}
          {isFinalStatus(run.status) && (
            <button
              type="button"
              data-action="rerun"
              disabled={busy}
              onClick={() =>
                act(async () => {
                  const next = await api<RerunSummary>('POST', `/v1/runs/${enc(id)}/rerun`, {});
                  location.assign(`/ui/runs/${enc(next.id)}`);
                })
              }
            >
              Rerun
            </button>
          )}
        </div>
      </div>

      {actionError !== null && <Notice error={actionError} onClose={() => setActionError(null)} />}
      {error !== null && !isFatal(error) && (
        <div class="notice quiet">Live updates paused: {String((error as Error).message)}</div>
      )}
      {run.error && (
        <div class="error-box">
          <b>{run.error.code}</b> {run.error.message}
        </div>
      )}
      {run.waitingFor && (
        <div class="waits">
          <div class="wait">
            <Sentence parts={waitingReason(run.waitingFor, now)} />
          </div>
        </div>
      )}
      {waiting.length > 0 && (
        <div class="waits">
          {waiting.map(([key, job]) => (
            <Wait key={key} jobKey={key} job={job} now={now} busy={busy} post={post} />
          ))}
        </div>
      )}

      <section class="card graph-card">
        <JobGraph
          layout={layout}
          jobs={run.jobs}
          selected={selected}
          onSelect={setPicked}
          now={now}
        />
      </section>

      <div class="columns">
        <section class="card">
          {selected && run.jobs[selected] && (
            <JobDetail jobKey={selected} job={run.jobs[selected]} now={now} />
          )}
          {Object.keys(run.inputs).length > 0 && (
            <details>
              <summary>Run inputs</summary>
              <Json value={run.inputs} />
            </details>
          )}
          {Object.keys(run.outputs).length > 0 && (
            <details open>
              <summary>Run outputs</summary>
              <Json value={run.outputs} />
            </details>
          )}
        </section>
        <section class="card">
          <h2>Timeline</h2>
          <ol class="timeline">
            {events.map((e) => (
              <li key={e.id} class={`ev t-${e.type.slice(e.type.indexOf('.') + 1)}`}>
                <time title={e.at}>{clock(e.at, true)}</time>
                <span class="offset">+{duration(Date.parse(e.at) - runStart)}</span>
                <span class="type">{e.type}</span>
                <span class="where">
                  {e.job ?? ''}
                  {e.step ? ` › ${e.step}` : ''}
                </span>
                {Object.keys(e.data).length > 0 && <span class="data">{preview(e.data)}</span>}
              </li>
            ))}
          </ol>
        </section>
      </div>
    </Page>
  );
}

function Sentence({ parts }: { parts: Part[] }) {
  return (
    <span>
      {parts.map((p, i) =>
        typeof p === 'string' ? p : <RunLink key={`${i}-${p.run}`} id={p.run} />,
      )}
    </span>
  );
}

interface WaitProps {
  jobKey: string;
  job: JobDoc;
  now: number;
  busy: boolean;
  post: (path: string, body?: unknown) => Promise<void>;
}

/** Why a job waits, with the buttons that end the wait. */
function Wait({ jobKey, job, now, busy, post }: WaitProps) {
  const w = job.waitingFor;
  const [payload, setPayload] = useState('');
  const [bad, setBad] = useState('');
  if (!w) return null;
  const sendSignal = (name: string) => {
    let body: unknown = {};
    if (payload.trim()) {
      try {
        body = { payload: JSON.parse(payload) };
      } catch {
        setBad('the payload must be JSON');
        return;
      }
    }
    setBad('');
    void post(`signals/${enc(name)}`, body);
  };
  return (
    <div class="wait">
      <span class="job-ref">{jobKey}</span>
      <Sentence parts={waitingReason(w, now)} />
      {w.kind === 'approval' && (
        <span class="buttons">
          <button
            type="button"
            class="ok"
            data-action="approve"
            disabled={busy}
            onClick={() => post(`approvals/${enc(w.step)}`, { approve: true })}
          >
            Approve
          </button>
          <button
            type="button"
            class="danger"
            data-action="reject"
            disabled={busy}
            onClick={() => post(`approvals/${enc(w.step)}`, { approve: false })}
          >
            Reject
          </button>
        </span>
      )}
      {w.kind === 'signal' && (
        <span class="buttons">
          <input
            class="mono"
            placeholder='payload (JSON, optional), e.g. {"ok":true}'
            value={payload}
            onInput={(e) => setPayload(e.currentTarget.value)}
          />
          <button
            type="button"
            data-action="signal"
            disabled={busy}
            onClick={() => sendSignal(w.name)}
          >
            Send signal
          </button>
          {bad && <span class="bad">{bad}</span>}
        </span>
      )}
    </div>
  );
}

function JobDetail({ jobKey, job, now }: { jobKey: string; job: JobDoc; now: number }) {
  return (
    <div class="job-detail">
      <h2>
        {jobKey} <Status status={job.status} />
        <span class="meta">
          {elapsed(job.startedAt, job.finishedAt, now)}
          {job.attempt > 1 ? ` · attempt ${job.attempt}` : ''}
        </span>
      </h2>
      {job.needs.length > 0 && <p class="muted">needs {job.needs.join(', ')}</p>}
      {job.error && (
        <div class="error-box">
          <b>{job.error.code}</b> {job.error.message}
        </div>
      )}
      <ol class="steps">
        {job.steps.map((s) => (
          <Step key={s.id} step={s} now={now} />
        ))}
      </ol>
      {Object.keys(job.outputs).length > 0 && (
        <details>
          <summary>Job outputs</summary>
          <Json value={job.outputs} />
        </details>
      )}
    </div>
  );
}

function Step({ step, now }: { step: StepDoc; now: number }) {
  const { stdout, stderr, ...rest } = step.outputs;
  const shell = typeof stdout === 'string' || typeof stderr === 'string';
  return (
    <li class={`step s-${step.status}`} data-step={step.id}>
      <div class="step-head">
        <span class="icon">{statusIcon(step.status)}</span>
        <span class="name">{step.name ?? step.id}</span>
        <code>{step.uses}</code>
        <span class="meta">
          {step.status} {elapsed(step.startedAt, step.finishedAt, now)}
          {(step.tries ?? 1) > 1 ? ` · ${step.tries} tries` : ''}
        </span>
      </div>
      {step.error && (
        <div class="error-box">
          <b>{step.error.code}</b> {step.error.message}
        </div>
      )}
      {shell && (
        <pre class="term">
          {typeof stdout === 'string' && stdout}
          {typeof stderr === 'string' && stderr && <span class="stderr">{stderr}</span>}
        </pre>
      )}
      {Object.keys(shell ? rest : step.outputs).length > 0 && (
        <details open={step.status !== 'succeeded' || !shell}>
          <summary>outputs</summary>
          <Json value={shell ? rest : step.outputs} />
        </details>
      )}
    </li>
  );
}
