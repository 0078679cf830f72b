import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Failure, Json, Page } from '../components.js';
import { clock } from '../format.js';
import type { WorkflowDoc, WorkflowSummary } from '../types.js';

/** The registered workflows; one opens to its revisions and its latest spec. */
export function WorkflowsPage() {
  const [items, setItems] = useState<WorkflowSummary[] | null>(null);
  const [open, setOpen] = useState(new URLSearchParams(location.search).get('name') ?? '');
  const [doc, setDoc] = useState<WorkflowDoc | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<{ items: WorkflowSummary[] }>('GET', '/v1/workflows')
      .then((page) => setItems(page.items))
      .catch(setError);
  }, []);
  useEffect(() => {
    setDoc(null);
    history.replaceState(
      null,
      '',
      `/ui/workflows${open ? `?name=${encodeURIComponent(open)}` : ''}`,
    );
    if (!open) return;
    api<WorkflowDoc>('GET', `/v1/workflows/${encodeURIComponent(open)}`)
      .then(setDoc)
      .catch(setError);
  }, [open]);

  if (error) {
    return (
      <Page title="Workflows">
        <Failure error={error} what="workflow" />
      </Page>
    );
  }
  return (
    <Page title="Workflows">
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">
          No workflows yet. Register one with <code>flowline register FILE</code>.
        </p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Workflow</th>
              <th>Version</th>
              <th>Revision</th>
              <th>Triggers</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr key={w.name} data-workflow={w.name} class={open === w.name ? 'selected' : ''}>
                <td>
                  <button
                    type="button"
                    class="link"
                    onClick={() => setOpen(open === w.name ? '' : w.name)}
                  >
                    {w.name}
                  </button>
                </td>
                <td>{w.version || '–'}</td>
                <td>{w.revision}</td>
                <td>{w.triggers.join(', ')}</td>
                <td>
                  <a href={`/ui?workflow=${encodeURIComponent(w.name)}`}>runs</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {doc && (
        <section class="card">
          <h2>{doc.name}</h2>
          <table class="list compact">
            <thead>
              <tr>
                <th>Revision</th>
                <th>Version</th>
                <th>Registered</th>
                <th>Digest</th>
              </tr>
            </thead>
            <tbody>
              {[...doc.revisions].reverse().map((r) => (
                <tr key={r.revision}>
                  <td>{r.revision}</td>
                  <td>{r.version || '–'}</td>
                  <td>
                    {new Date(r.createdAt).toLocaleDateString()} {clock(r.createdAt)}
                  </td>
                  <td class="mono">{r.digest.slice(0, 12)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Spec of revision {doc.revision}</h3>
          <Json value={doc.spec} />
        </section>
      )}
    </Page>
  );
}
