import { render } from 'preact';
import { useErrorBoundary } from 'preact/hooks';
import { ApiError } from './api.js';
import { Failure, Page } from './components.js';
import { takeKeyFromFragment } from './key.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { WorkflowsPage } from './pages/workflows.js';
import './style.css';

function Route() {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const run = /^\/ui\/runs\/([^/]+)$/.exec(path);
  if (run?.[1]) return <RunPage id={decodeURIComponent(run[1])} />;
  if (path === '/ui/workflows') return <WorkflowsPage />;
  if (path === '/ui') return <RunsPage />;
  return (
    <Page>
      <Failure error={new ApiError(404, 'Not Found')} what="page" />
    </Page>
  );
}

/** The whole page; a rendering fault shows a plain message, never a stack. */
function App() {
  const [fault] = useErrorBoundary();
  if (fault) {
    return (
      <Page>
        <Failure error={fault} what="page" />
      </Page>
    );
  }
  return <Route />;
}

takeKeyFromFragment();
const root = document.getElementById('app');
if (root) render(<App />, root);
