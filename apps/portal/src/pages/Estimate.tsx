// Consumers: write a SQL filter, see the live estimate (records, subjects, update rate, price, a deidentified sample)
// or the gate's reasons when it refuses, then buy it as a subscription.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { call, type Problem } from '../api';
import { Figures } from '../components/Figures';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { Scroll } from '../components/Scroll';
import { asProblem, useLoad } from '../hooks';
import { count, money } from '../format';
import { go } from '../router';

interface Estimate {
  id: string;
  records: number;
  distinctSubjects: number;
  monthlyUpdateRate: number;
  sample: Array<Record<string, unknown>>;
  price: { initial: number; monthly: number; currency: string };
  datasets: string[];
}

const LIVE_DELAY_MS = 1200;

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

function refusal(p: Problem): { title: string } | null {
  if (p.code === 'SQL_REJECTED') return { title: 'The SQL gate refused this query' };
  if (p.code === 'COHORT_TOO_SMALL') return { title: 'Too few people match: cohort too small' };
  if (p.code === 'DATASET_NOT_PRICED') return { title: 'Not for sale yet' };
  return null;
}

export function EstimatePage({ dataset }: { dataset: string | null }) {
  const cleanrooms = useLoad(() => call<{ cleanrooms: Array<{ id: string; name: string }> }>('GET', '/v1/cleanrooms'), []);
  const [cleanroomId, setCleanroomId] = useState('');
  const [table, setTable] = useState(dataset ? `${dataset}_delivery` : 'delivery');
  const [sql, setSql] = useState(dataset ? `SELECT * FROM ${dataset}` : '');
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [buying, setBuying] = useState(false);
  const latest = useRef(0);

  useEffect(() => {
    if (!cleanroomId && cleanrooms.data?.cleanrooms[0]) setCleanroomId(cleanrooms.data.cleanrooms[0].id);
  }, [cleanrooms.data, cleanroomId]);

  async function runEstimate(): Promise<void> {
    if (!cleanroomId || !sql.trim() || !table.trim()) return;
    const mine = ++latest.current;
    setBusy(true);
    try {
      const e = await call<Estimate>('POST', '/v1/estimates', { cleanroomId, table: table.trim(), sql });
      if (mine !== latest.current) return;
      setEstimate(e);
      setProblem(null);
    } catch (e) {
      if (mine !== latest.current) return;
      setEstimate(null);
      setProblem(asProblem(e));
    } finally {
      if (mine === latest.current) setBusy(false);
    }
  }

  // Live: a pause in typing re-estimates (each estimate runs the query in the sandbox, so not on every key).
  useEffect(() => {
    if (!cleanroomId || !sql.trim()) return;
    const t = setTimeout(() => void runEstimate(), LIVE_DELAY_MS);
    return () => clearTimeout(t);
  }, [sql, cleanroomId, table]);

  async function buy(): Promise<void> {
    if (!estimate) return;
    setBuying(true);
    try {
      const s = await call<{ id: string }>('POST', '/v1/subscriptions', { estimateId: estimate.id });
      go(`/subscriptions/${s.id}`);
    } catch (e) {
      setProblem(asProblem(e));
      setBuying(false);
    }
  }

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void runEstimate();
  };
  const why = problem ? refusal(problem) : null;
  const columns = estimate?.sample[0] ? Object.keys(estimate.sample[0]) : [];

  return (
    <>
      <h1>Estimate &amp; buy</h1>
      {cleanrooms.loading ? <Loading what="cleanrooms" /> : null}
      {cleanrooms.error ? <ProblemMessage problem={cleanrooms.error} /> : null}
      {cleanrooms.data && cleanrooms.data.cleanrooms.length === 0 ? (
        <p>
          Deliveries land in a cleanroom. <a href="#/cleanrooms">Create a cleanroom</a> first.
        </p>
      ) : null}
      {cleanrooms.data && cleanrooms.data.cleanrooms.length > 0 ? (
        <form onSubmit={onSubmit} className="stack">
          <label>
            Cleanroom
            <select value={cleanroomId} onChange={(e) => setCleanroomId(e.target.value)}>
              {cleanrooms.data.cleanrooms.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Table name in the cleanroom
            <input value={table} onChange={(e) => setTable(e.target.value)} pattern="[a-z_][a-z0-9_]*" required />
          </label>
          <label>
            SQL filter (one SELECT over published datasets)
            <textarea value={sql} onChange={(e) => setSql(e.target.value)} rows={5} spellCheck={false} required />
          </label>
          <div className="row">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Estimating…' : 'Estimate'}
            </button>
            <span role="status" className="muted">
              {busy ? 'Estimating…' : estimate ? 'Estimate up to date' : ''}
            </span>
          </div>
        </form>
      ) : null}
      {problem ? <ProblemMessage problem={problem} {...(why ? { title: why.title } : {})} /> : null}
      {estimate ? (
        <section aria-labelledby="estimate-h" className="estimate">
          <h2 id="estimate-h">Estimate</h2>
          <Figures
            items={[
              { label: 'Records', value: count(estimate.records), testId: 'estimate-records' },
              { label: 'Distinct subjects', value: count(estimate.distinctSubjects), testId: 'estimate-subjects' },
              { label: 'Update rate', value: `${count(Math.round(estimate.monthlyUpdateRate))} records / month` },
              { label: 'Initial price', value: money(estimate.price.initial, estimate.price.currency), testId: 'estimate-price' },
              { label: 'Monthly (estimated)', value: money(estimate.price.monthly, estimate.price.currency) },
            ]}
          />
          <h3>Deidentified sample</h3>
          {columns.length === 0 ? (
            <p className="muted">No sample rows.</p>
          ) : (
            <Scroll label="Sample rows">
              <table>
                <caption className="sr-only">Sample rows</caption>
                <thead>
                  <tr>
                    {columns.map((c) => (
                      <th key={c} scope="col">
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {estimate.sample.map((row, i) => (
                    <tr key={i}>
                      {columns.map((c) => (
                        <td key={c}>{cellText(row[c])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
          <button type="button" className="primary" onClick={() => void buy()} disabled={buying}>
            {buying ? 'Buying…' : `Buy subscription (${money(estimate.price.initial, estimate.price.currency)} now)`}
          </button>
        </section>
      ) : null}
    </>
  );
}
