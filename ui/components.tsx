import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { forgetKey, saveKey, storedKey } from './key.js';

export function Status({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export function RunLink({ id }: { id: string }) {
  return (
    <a class="mono" href={`/ui/runs/${encodeURIComponent(id)}`}>
      {id}
    </a>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function Page({
  title,
  children,
}: {
  title?: ComponentChildren;
  children: ComponentChildren;
}) {
  const here = location.pathname;
  return (
    <>
      <header class="top">
        <a class="brand" href="/ui">
          flowline
        </a>
        <nav>
          <a href="/ui" class={here === '/ui' || here.startsWith('/ui/runs') ? 'on' : ''}>
            Runs
          </a>
          <a href="/ui/workflows" class={here.startsWith('/ui/workflows') ? 'on' : ''}>
            Workflows
          </a>
        </nav>
        {storedKey() && (
          <button
            type="button"
            class="link"
            onClick={() => {
              forgetKey();
              location.reload();
            }}
          >
            Forget key
          </button>
        )}
      </header>
      <main>
        {title && <h1>{title}</h1>}
        {children}
      </main>
    </>
  );
}

/** A key form: shown when the browser has no key or the API rejected it. */
function KeyForm({ rejected }: { rejected: boolean }) {
  const [key, setKey] = useState('');
  return (
    <section class="state" data-state={rejected ? 'key-rejected' : 'no-key'}>
      <h2>{rejected ? 'Key rejected' : 'API key needed'}</h2>
      <p>
        {rejected
          ? 'The API did not accept the key this browser holds. Paste a valid key.'
          : 'Open the link `npm run dev` prints, or paste an API key. It stays in this browser only.'}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!key.trim()) return;
          saveKey(key);
          location.reload();
        }}
      >
        <input
          type="password"
          autocomplete="off"
          placeholder="API key"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <button type="submit">Use this key</button>
      </form>
    </section>
  );
}

/** What a failed load shows: the key form on 401, "not found" on 404, else the problem's words. */
export function Failure({ error, what }: { error: unknown; what: string }) {
  if (error instanceof ApiError && error.status === 401) {
    return <KeyForm rejected={error.title !== 'No API key'} />;
  }
  if (error instanceof ApiError && error.status === 404) {
    return (
      <section class="state" data-state="not-found">
        <h2>Not found</h2>
        <p>No {what} by that name is visible with this key.</p>
        <p>
          <a href="/ui">All runs</a>
        </p>
      </section>
    );
  }
  return (
    <section class="state" data-state="error">
      <h2>{error instanceof ApiError ? error.title : 'Something went wrong'}</h2>
      <p>
        {error instanceof ApiError ? error.detail : 'The page could not show this; try a reload.'}
      </p>
    </section>
  );
}

/** A one-line notice for an action's failure (the problem's title and detail). */
export function Notice({ error, onClose }: { error: unknown; onClose: () => void }) {
  const text =
    error instanceof ApiError
      ? `${error.title}${error.detail ? `: ${error.detail}` : ''}`
      : 'The action failed.';
  return (
    <div class="notice" role="alert">
      <span>{text}</span>
      <button type="button" class="link" onClick={onClose}>
        dismiss
      </button>
    </div>
  );
}
