// Providers: license counts, live licenses per table, revocations and the erasures they caused in cleanrooms.
import { call } from '../api';
import { DataTable } from '../components/DataTable';
import { Figures } from '../components/Figures';
import { LoadState } from '../components/LoadState';
import { useLoad } from '../hooks';
import { count, when } from '../format';

interface Summary {
  counts: { live: number; expired: number; revoked: number; superseded: number };
  liveByTable: Array<{ table: string; live: number }>;
  revocations: Array<{ licenseId: string; tid: string; revokedAt: string }>;
  erasures: Array<{ tid: string; subscriptionId: string; consumer: string; records: number; removedAt: string }>;
}

export function LicensesPage() {
  const summary = useLoad(() => call<Summary>('GET', '/v1/licenses/summary'), []);
  return (
    <>
      <h1>Licenses</h1>
      <LoadState state={summary} what="licenses">
        {(data) => (
          <>
            <Figures
              items={[
                { label: 'Live', value: count(data.counts.live), testId: 'licenses-live' },
                { label: 'Expired', value: count(data.counts.expired) },
                { label: 'Revoked', value: count(data.counts.revoked), testId: 'licenses-revoked' },
                { label: 'Superseded', value: count(data.counts.superseded) },
              ]}
            />
            <h2>Live licenses per table</h2>
            <DataTable
              label="Live licenses per table"
              scroll={false}
              rows={data.liveByTable}
              rowKey={(t) => t.table}
              empty={<p>No live license.</p>}
              columns={[
                { header: 'Table', rowHeader: true, cell: (t) => t.table },
                { header: 'Live licenses', num: true, cell: (t) => count(t.live) },
              ]}
            />
            <h2>Revocations</h2>
            <DataTable
              label="Latest revocations"
              testId="revocations"
              rows={data.revocations}
              rowKey={(r) => r.licenseId}
              empty={<p>No license was revoked.</p>}
              columns={[
                { header: 'Subject (tid)', cell: (r) => <code>{r.tid}</code> },
                { header: 'License', cell: (r) => <code>{r.licenseId}</code> },
                { header: 'Revoked', cell: (r) => when(r.revokedAt) },
              ]}
            />
            <h2>Erasures</h2>
            <p className="muted">Rows of subjects whose license ended, removed from a consumer&apos;s cleanroom table, its snapshots and its files.</p>
            <DataTable
              label="Latest erasures"
              testId="erasures"
              rows={data.erasures}
              rowKey={(e) => `${e.subscriptionId}-${e.tid}-${e.removedAt}`}
              empty={<p>No erasure yet.</p>}
              columns={[
                { header: 'Subject (tid)', cell: (e) => <code>{e.tid}</code> },
                { header: 'Consumer', cell: (e) => <code>{e.consumer}</code> },
                { header: 'Records', num: true, cell: (e) => count(e.records) },
                { header: 'Removed', cell: (e) => when(e.removedAt) },
              ]}
            />
          </>
        )}
      </LoadState>
    </>
  );
}
