import { useEffect } from 'react';
import type { StatusResponse } from '../../proxy-core/contract/control-api.ts';
import { useStatusStore } from './status-store.ts';

/** The shell: the name and the core's status. The full UI is a later issue. */
export function App() {
  const { status, error, loading, refresh } = useStatusStore();

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <main>
      <h1>Tollgate</h1>
      {loading && !status && <p>Connecting to the control API…</p>}
      {error && (
        <p role="alert" className="status-problem">
          {error}
        </p>
      )}
      {status && <StatusView status={status} />}
      <button type="button" onClick={() => void refresh()}>
        Refresh
      </button>
    </main>
  );
}

function StatusView({ status }: { status: StatusResponse }) {
  return (
    <>
      {status.store && !status.store.ok && (
        <p role="alert" className="status-problem">
          Store: {status.store.problem}
        </p>
      )}
      <dl aria-label="status">
        <dt>Version</dt>
        <dd>{status.version}</dd>
        <dt>Proxy port</dt>
        <dd>{status.ports.proxy ?? '—'}</dd>
        <dt>Control port</dt>
        <dd>{status.ports.control}</dd>
        <dt>Uptime</dt>
        <dd>{status.uptimeSeconds} s</dd>
        <dt>Policy</dt>
        <dd>
          {status.policy.loaded ? `revision ${status.policy.revision ?? '—'}` : 'none loaded'}
        </dd>
        <dt>Requests logged</dt>
        <dd>
          {status.log.size} / {status.log.capacity}
        </dd>
      </dl>
    </>
  );
}
