// Providers: the ingest report — every recent file or upload, its rows, and why it was rejected.
import { call } from '../api';
import { DataTable } from '../components/DataTable';
import { Figures } from '../components/Figures';
import { LoadState } from '../components/LoadState';
import { useLoad } from '../hooks';
import { count, when } from '../format';

interface Ingest {
  id: string;
  table: string;
  source: string;
  file: string | null;
  status: string;
  records: number | null;
  rowsRead: number | null;
  rowsQuarantined: number | null;
  maskedValues: number | null;
  reason: string | null;
  createdAt: string;
}

export function IngestsPage() {
  const report = useLoad(() => call<{ ingests: Ingest[] }>('GET', '/v1/ingests?limit=200'), []);
  const ingests = report.data?.ingests ?? [];
  const by = (s: string) => ingests.filter((i) => i.status === s).length;
  const rows = ingests.reduce((n, i) => n + (i.status === 'loaded' ? (i.records ?? 0) : 0), 0);
  return (
    <>
      <h1>Ingest report</h1>
      <button type="button" onClick={report.reload}>
        Refresh
      </button>
      <LoadState state={report} what="the ingest report">
        {() => (
          <>
            <Figures
              items={[
                { label: 'Files and uploads', value: count(ingests.length) },
                { label: 'Loaded', value: count(by('loaded')) },
                { label: 'Rejected', value: count(by('rejected')), testId: 'rejected-count' },
                { label: 'Pending', value: count(by('pending')) },
                { label: 'Rows loaded', value: count(rows) },
              ]}
            />
            <DataTable
              label="Recent files and uploads, newest first"
              testId="ingests"
              rows={ingests}
              rowKey={(i) => i.id}
              rowClassName={(i) => (i.status === 'rejected' ? 'rejected' : undefined)}
              empty={<p>Nothing was uploaded yet.</p>}
              columns={[
                { header: 'Received', cell: (i) => when(i.createdAt) },
                { header: 'Table', cell: (i) => i.table },
                { header: 'File', cell: (i) => i.file ?? `API upload ${i.id.slice(0, 8)}` },
                { header: 'Status', cell: (i) => i.status },
                { header: 'Rows read', num: true, cell: (i) => count(i.rowsRead) },
                { header: 'Rows loaded', num: true, cell: (i) => count(i.records) },
                { header: 'Quarantined', num: true, cell: (i) => count(i.rowsQuarantined) },
                { header: 'Rejection reason', cell: (i) => i.reason ?? '' },
              ]}
            />
          </>
        )}
      </LoadState>
    </>
  );
}
