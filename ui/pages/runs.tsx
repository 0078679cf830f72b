import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { Failure, Page, RunLink, Status } from '../components.js';
import { ago, clock } from '../format.js';
import { useNow, usePolling } from '../live.js';
import type { RunPage, RunSummary, WorkflowSummary } from '../types.js';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];

/** The runs list, newest first, filtered by workflow and status, refreshed every 2 s. */
export function RunsPage() {
  const query = new URLSearchParams(location.search);
  const [workflow, setWorkflow] = useState(query.get('workflow') ?? '');
  const [status, setStatus] = useState(query.get('status') ?? '');
  const [limit, setLimit] = useState(50);
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [more, setMore] = useState(false);
  const [workflows, setWorkflows] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const fatal = error instanceof ApiError && error.status === 401;

  const poke = usePolling(
    async () => {
      const q = new URLSearchParams({ limit: String(limit) });
      if (workflow) q.set('workflow', workflow);
      if (status) q.set('status', status);
      try {
        const page = await api<RunPage>('GET', `/v1/runs?${q}`);
        setRuns(page.items);
        setMore(page.nextCursor !== null);
        setError(null);
      } catch (err) {
        setError(err);
      }
    },
    2000,
    !fatal,
  );
  useEffect(() => {
    const q = new URLSearchParams();
    if (workflow) q.set('workflow', workflow);
    if (status) q.set('status', status);
    history.replaceState(null, '', `/ui${q.size > 0 ? `?${q}` : ''}`);
    poke();
  }, [workflow, status, limit]);
  useEffect(() => {
    api<{ items: WorkflowSummary[] }>('GET', '/v1/workflows')
      .then((page) => setWorkflows(page.items.map((w) => w.name)))
      .catch(() => undefined);
  }, []);
  const now = useNow(5000, true);

  if (fatal || (error && !runs)) {
    return (
      <Page title="Runs">
        <Failure error={error} what="run" />
      </Page>
    );
  }
  return (
    <Page title="Runs">
      <div class="filters">
        <label>
          Workflow{' '}
          <select value={workflow} onChange={(e) => setWorkflow(e.currentTarget.value)}>
            <option value="">all</option>
            {[...new Set([...workflows, ...(workflow ? [workflow] : [])])].map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <span class="muted live-dot">live</span>
      </div>
      {runs === null ? (
        <p class="muted">Loading…</p>
      ) : runs.length === 0 ? (
        <p class="muted">
          No runs{workflow || status ? ' match these filters' : ' yet'}. Start one with{' '}
          <code>flowline run NAME</code>.
        </p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Run</th>
              <th>Workflow</th>
              <th>Revision</th>
              <th>Status</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-run={r.id}>
                <td>
                  <RunLink id={r.id} />
                </td>
                <td>{r.workflow}</td>
                <td>{r.revision || 'inline'}</td>
                <td>
                  <Status status={r.status} />
                </td>
                <td title={clock(r.createdAt)}>{ago(r.createdAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && limit < 100 && (
        <button type="button" class="link" onClick={() => setLimit(100)}>
          Show up to 100
        </button>
      )}
    </Page>
  );
}
