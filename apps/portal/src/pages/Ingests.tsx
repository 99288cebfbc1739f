// Providers: the ingest report — every recent file or upload, its rows, and why it was rejected.
import { call } from '../api';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { Scroll } from '../components/Scroll';
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
  const { data, error, loading, reload } = useLoad(() => call<{ ingests: Ingest[] }>('GET', '/v1/ingests?limit=200'), []);
  const ingests = data?.ingests ?? [];
  const by = (s: string) => ingests.filter((i) => i.status === s).length;
  const rows = ingests.reduce((n, i) => n + (i.status === 'loaded' ? (i.records ?? 0) : 0), 0);
  return (
    <>
      <h1>Ingest report</h1>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      {loading ? <Loading what="the ingest report" /> : null}
      {error ? <ProblemMessage problem={error} /> : null}
      {data ? (
        <>
          <dl className="figures">
            <div>
              <dt>Files and uploads</dt>
              <dd>{count(ingests.length)}</dd>
            </div>
            <div>
              <dt>Loaded</dt>
              <dd>{count(by('loaded'))}</dd>
            </div>
            <div>
              <dt>Rejected</dt>
              <dd data-testid="rejected-count">{count(by('rejected'))}</dd>
            </div>
            <div>
              <dt>Pending</dt>
              <dd>{count(by('pending'))}</dd>
            </div>
            <div>
              <dt>Rows loaded</dt>
              <dd>{count(rows)}</dd>
            </div>
          </dl>
          {ingests.length === 0 ? <p>Nothing was uploaded yet.</p> : null}
          {ingests.length > 0 ? (
            <Scroll label="Recent files and uploads, newest first">
              <table data-testid="ingests">
                <caption className="sr-only">Recent files and uploads, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">Table</th>
                    <th scope="col">File</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="num">Rows read</th>
                    <th scope="col" className="num">Rows loaded</th>
                    <th scope="col" className="num">Quarantined</th>
                    <th scope="col">Rejection reason</th>
                  </tr>
                </thead>
                <tbody>
                  {ingests.map((i) => (
                    <tr key={i.id} className={i.status === 'rejected' ? 'rejected' : undefined}>
                      <td>{when(i.createdAt)}</td>
                      <td>{i.table}</td>
                      <td>{i.file ?? `API upload ${i.id.slice(0, 8)}`}</td>
                      <td>{i.status}</td>
                      <td className="num">{count(i.rowsRead)}</td>
                      <td className="num">{count(i.records)}</td>
                      <td className="num">{count(i.rowsQuarantined)}</td>
                      <td>{i.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          ) : null}
        </>
      ) : null}
    </>
  );
}
