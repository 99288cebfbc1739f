// Providers: license counts, live licenses per table, revocations and the erasures they caused in cleanrooms.
import { call } from '../api';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { Scroll } from '../components/Scroll';
import { useLoad } from '../hooks';
import { count, when } from '../format';

interface Summary {
  counts: { live: number; expired: number; revoked: number; superseded: number };
  liveByTable: Array<{ table: string; live: number }>;
  revocations: Array<{ licenseId: string; tid: string; revokedAt: string }>;
  erasures: Array<{ tid: string; subscriptionId: string; consumer: string; records: number; removedAt: string }>;
}

export function LicensesPage() {
  const { data, error, loading } = useLoad(() => call<Summary>('GET', '/v1/licenses/summary'), []);
  return (
    <>
      <h1>Licenses</h1>
      {loading ? <Loading what="licenses" /> : null}
      {error ? <ProblemMessage problem={error} /> : null}
      {data ? (
        <>
          <dl className="figures">
            <div>
              <dt>Live</dt>
              <dd data-testid="licenses-live">{count(data.counts.live)}</dd>
            </div>
            <div>
              <dt>Expired</dt>
              <dd>{count(data.counts.expired)}</dd>
            </div>
            <div>
              <dt>Revoked</dt>
              <dd data-testid="licenses-revoked">{count(data.counts.revoked)}</dd>
            </div>
            <div>
              <dt>Superseded</dt>
              <dd>{count(data.counts.superseded)}</dd>
            </div>
          </dl>
          <h2>Live licenses per table</h2>
          {data.liveByTable.length === 0 ? (
            <p>No live license.</p>
          ) : (
            <table>
              <caption className="sr-only">Live licenses per table</caption>
              <thead>
                <tr>
                  <th scope="col">Table</th>
                  <th scope="col" className="num">Live licenses</th>
                </tr>
              </thead>
              <tbody>
                {data.liveByTable.map((t) => (
                  <tr key={t.table}>
                    <th scope="row">{t.table}</th>
                    <td className="num">{count(t.live)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Revocations</h2>
          {data.revocations.length === 0 ? (
            <p>No license was revoked.</p>
          ) : (
            <Scroll label="Latest revocations">
              <table data-testid="revocations">
                <caption className="sr-only">Latest revocations</caption>
                <thead>
                  <tr>
                    <th scope="col">Subject (tid)</th>
                    <th scope="col">License</th>
                    <th scope="col">Revoked</th>
                  </tr>
                </thead>
                <tbody>
                  {data.revocations.map((r) => (
                    <tr key={r.licenseId}>
                      <td>
                        <code>{r.tid}</code>
                      </td>
                      <td>
                        <code>{r.licenseId}</code>
                      </td>
                      <td>{when(r.revokedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
          <h2>Erasures</h2>
          <p className="muted">Rows of subjects whose license ended, removed from a consumer&apos;s cleanroom table, its snapshots and its files.</p>
          {data.erasures.length === 0 ? (
            <p>No erasure yet.</p>
          ) : (
            <Scroll label="Latest erasures">
              <table>
                <caption className="sr-only">Latest erasures</caption>
                <thead>
                  <tr>
                    <th scope="col">Subject (tid)</th>
                    <th scope="col">Consumer</th>
                    <th scope="col" className="num">Records</th>
                    <th scope="col">Removed</th>
                  </tr>
                </thead>
                <tbody>
                  {data.erasures.map((e) => (
                    <tr key={`${e.subscriptionId}-${e.tid}-${e.removedAt}`}>
                      <td>
                        <code>{e.tid}</code>
                      </td>
                      <td>
                        <code>{e.consumer}</code>
                      </td>
                      <td className="num">{count(e.records)}</td>
                      <td>{when(e.removedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
        </>
      ) : null}
    </>
  );
}
