// Consumers: subscriptions, and one subscription with every run (records added and removed, snapshot), the pause,
// resume and run-now actions, and snippets to read its table.
import { useEffect, useState } from 'react';
import type { SubscriptionListing, SubscriptionView } from '@atoll/market/listings';
import { call, type Problem } from '../api';
import { DataTable } from '../components/DataTable';
import { LoadState } from '../components/LoadState';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { Snippets } from '../components/Snippets';
import { useShell } from '../context';
import { asProblem, useLoad } from '../hooks';
import { count, when } from '../format';

export function SubscriptionsPage() {
  const subscriptions = useLoad(() => call<{ subscriptions: SubscriptionListing[] }>('GET', '/v1/subscriptions'), []);
  return (
    <>
      <h1>Subscriptions</h1>
      <LoadState state={subscriptions} what="subscriptions">
        {(data) => (
          <DataTable
            label="Your subscriptions"
            rows={data.subscriptions}
            rowKey={(s) => s.id}
            empty={
              <p>
                No subscription yet. <a href="#/datasets">Browse datasets</a> to buy one.
              </p>
            }
            columns={[
              { header: 'Table', rowHeader: true, cell: (s) => <a href={`#/subscriptions/${s.id}`}>{s.table}</a> },
              { header: 'Datasets', cell: (s) => s.datasets.join(', ') },
              { header: 'Status', cell: (s) => s.status },
              { header: 'Bought', cell: (s) => when(s.createdAt) },
            ]}
          />
        )}
      </LoadState>
    </>
  );
}

export function SubscriptionPage({ id }: { id: string }) {
  const { settings } = useShell();
  const sub = useLoad(() => call<SubscriptionView>('GET', `/v1/subscriptions/${encodeURIComponent(id)}`), [id]);
  const rooms = useLoad(() => call<{ cleanrooms: Array<{ id: string; bucket: string; endpoint: string; region: string }> }>('GET', '/v1/cleanrooms'), []);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState('');
  const running = !sub.data || sub.data.status === 'pending' || sub.data.runs.some((r) => r.status === 'running');

  // While a run is under way, look again every few seconds.
  useEffect(() => {
    if (!running || sub.error) return;
    const t = setInterval(sub.reload, 3000);
    return () => clearInterval(t);
  }, [running, sub.error, sub.reload]);

  async function act(action: 'pause' | 'resume' | 'run', done: string) {
    setProblem(null);
    try {
      await call('POST', `/v1/subscriptions/${encodeURIComponent(id)}/${action}`);
      setNotice(done);
      sub.reload();
    } catch (e) {
      setProblem(asProblem(e));
    }
  }

  const s = sub.data;
  const room = s ? rooms.data?.cleanrooms.find((c) => c.id === s.cleanroomId) : undefined;
  const bucket = room?.bucket;
  return (
    <>
      <h1>Subscription {s ? s.table : ''}</h1>
      {sub.loading && !s ? <Loading what="the subscription" /> : null}
      {sub.error ? <ProblemMessage problem={sub.error} /> : null}
      {problem ? <ProblemMessage problem={problem} /> : null}
      <p role="status" className="muted">
        {notice}
      </p>
      {s ? (
        <>
          <dl className="kv">
            <dt>Status</dt>
            <dd data-testid="subscription-status">{s.status}</dd>
            <dt>Datasets</dt>
            <dd>{s.datasets.join(', ')}</dd>
            <dt>Cleanroom table</dt>
            <dd>
              <code>{bucket ? `s3://${bucket}/${s.table}` : s.table}</code>
            </dd>
          </dl>
          <div className="row">
            {s.status === 'paused' ? (
              <button type="button" onClick={() => void act('resume', 'Resumed: daily updates continue.')}>
                Resume
              </button>
            ) : (
              <button type="button" onClick={() => void act('pause', 'Paused: delivered data stays; no runs and no charges until resumed.')}>
                Pause
              </button>
            )}
            <button type="button" onClick={() => void act('run', 'Run requested.')} disabled={s.status === 'paused'}>
              Run now
            </button>
          </div>
          <h2>Runs</h2>
          <DataTable
            label="Runs, newest first"
            testId="runs"
            rows={s.runs}
            rowKey={(r) => r.id}
            empty={<p className="muted">The first run is queued.</p>}
            columns={[
              { header: 'Started', cell: (r) => when(r.startedAt) },
              { header: 'Finished', cell: (r) => when(r.finishedAt) },
              { header: 'Status', cell: (r) => r.status },
              { header: 'Added', num: true, cell: (r) => count(r.recordsAdded) },
              { header: 'Removed', num: true, cell: (r) => count(r.recordsRemoved) },
              { header: 'Snapshot', cell: (r) => <code>{r.snapshotId ?? '—'}</code> },
              { header: 'Note', cell: (r) => r.error ?? r.reason ?? '' },
            ]}
          />
          {room ? (
            <Snippets
              apiUrl={window.location.origin}
              tokenUrl={`${settings.keycloakUrl}/realms/${settings.realm}/protocol/openid-connect/token`}
              endpoint={room.endpoint}
              region={room.region}
              bucket={room.bucket}
              cleanroomId={s.cleanroomId}
              table={s.table}
            />
          ) : null}
        </>
      ) : null}
    </>
  );
}
