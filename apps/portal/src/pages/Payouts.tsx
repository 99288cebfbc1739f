// Providers: the month's share of charges, per subject pseudonym.
import { useState } from 'react';
import { call } from '../api';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { Scroll } from '../components/Scroll';
import { useLoad } from '../hooks';
import { count, money, thisMonth } from '../format';

interface Payouts {
  month: string;
  share: string;
  payouts: Array<{ tid: string; records: number; amount: string; currency: string }>;
  totals: Array<{ currency: string; amount: string }>;
}

export function PayoutsPage() {
  const [month, setMonth] = useState(thisMonth());
  const { data, error, loading } = useLoad(() => call<Payouts>('GET', `/v1/payouts?month=${encodeURIComponent(month)}`), [month]);
  return (
    <>
      <h1>Payouts</h1>
      <label className="inline">
        Month
        <input type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} />
      </label>
      {loading ? <Loading what="payouts" /> : null}
      {error ? <ProblemMessage problem={error} /> : null}
      {data ? (
        <>
          <p>
            Your share of charges: {(Number(data.share) * 100).toFixed(2)} %. Total for {data.month}:{' '}
            {data.totals.length > 0 ? data.totals.map((t) => money(t.amount, t.currency)).join('; ') : 'nothing yet'}.
          </p>
          {data.payouts.length > 0 ? (
            <Scroll label="Payouts per subject">
              <table>
                <caption className="sr-only">Payouts per subject</caption>
                <thead>
                  <tr>
                    <th scope="col">Subject (tid)</th>
                    <th scope="col" className="num">Records charged</th>
                    <th scope="col" className="num">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  {data.payouts.map((p) => (
                    <tr key={`${p.tid}-${p.currency}`}>
                      <td>
                        <code>{p.tid}</code>
                      </td>
                      <td className="num">{count(p.records)}</td>
                      <td className="num">{money(p.amount, p.currency, 6)}</td>
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
