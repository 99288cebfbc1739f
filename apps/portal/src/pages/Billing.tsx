// Consumers: the billing dashboard — records delivered per day and subscription as a chart, the month's charges per
// subscription and in total, and the month's invoices.
import { useState } from 'react';
import { call } from '../api';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { UsageChart, type DailyUsage } from '../components/UsageChart';
import { useLoad } from '../hooks';
import { count, money, thisMonth } from '../format';
import type { SubscriptionListing, SubscriptionView } from './Subscriptions';

interface Usage {
  month: string;
  subscriptions?: Array<{ subscriptionId: string; table: string; records: number; amount: string; currency: string }>;
  totals?: Array<{ currency: string; amount: string; records: number }>;
  invoices?: Array<{ invoiceId: string; currency: string; amount: string; status: string }>;
}

/** Daily records from every finished run of the month (each record a run adds is charged once). */
export function daily(month: string, views: SubscriptionView[]): DailyUsage[] {
  const byDay = new Map<string, Record<string, number>>();
  for (const v of views) {
    for (const r of v.runs) {
      if (!r.finishedAt || !r.finishedAt.startsWith(month) || !r.recordsAdded) continue;
      const day = r.finishedAt.slice(0, 10);
      const entry = byDay.get(day) ?? {};
      entry[v.id] = (entry[v.id] ?? 0) + r.recordsAdded;
      byDay.set(day, entry);
    }
  }
  return [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, bySubscription]) => ({ day, bySubscription }));
}

export function BillingPage() {
  const [month, setMonth] = useState(thisMonth());
  const usage = useLoad(() => call<Usage>('GET', `/v1/billing/usage?month=${encodeURIComponent(month)}`), [month]);
  const runs = useLoad(async () => {
    const { subscriptions } = await call<{ subscriptions: SubscriptionListing[] }>('GET', '/v1/subscriptions');
    return Promise.all(subscriptions.map((s) => call<SubscriptionView>('GET', `/v1/subscriptions/${s.id}`)));
  }, []);
  const days = runs.data ? daily(month, runs.data) : [];
  const series = (runs.data ?? []).filter((v) => days.some((d) => d.bySubscription[v.id])).map((v) => ({ id: v.id, label: v.table }));
  return (
    <>
      <h1>Billing</h1>
      <label className="inline">
        Month
        <input type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} />
      </label>
      <h2>Usage per day</h2>
      {runs.loading ? <Loading what="usage" /> : null}
      {runs.error ? <ProblemMessage problem={runs.error} /> : null}
      {runs.data && days.length === 0 ? <p>No records were delivered in {month}.</p> : null}
      {days.length > 0 ? (
        <>
          <UsageChart month={month} days={days} series={series} />
          <details>
            <summary>Usage per day as a table</summary>
            <table>
              <caption className="sr-only">Records delivered per day and subscription</caption>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  {series.map((s) => (
                    <th key={s.id} scope="col" className="num">
                      {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {days.map((d) => (
                  <tr key={d.day}>
                    <th scope="row">{d.day}</th>
                    {series.map((s) => (
                      <td key={s.id} className="num">
                        {count(d.bySubscription[s.id] ?? 0)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      ) : null}
      <h2>Charges in {month}</h2>
      {usage.loading ? <Loading what="charges" /> : null}
      {usage.error ? <ProblemMessage problem={usage.error} /> : null}
      {usage.data ? (
        <>
          <p className="total" data-testid="month-total">
            Month total:{' '}
            {usage.data.totals && usage.data.totals.length > 0
              ? usage.data.totals.map((t) => `${money(t.amount, t.currency)} for ${count(t.records)} records`).join('; ')
              : 'nothing charged'}
          </p>
          {usage.data.subscriptions && usage.data.subscriptions.length > 0 ? (
            <table>
              <caption>Per subscription</caption>
              <thead>
                <tr>
                  <th scope="col">Table</th>
                  <th scope="col" className="num">Records charged</th>
                  <th scope="col" className="num">Amount</th>
                </tr>
              </thead>
              <tbody>
                {usage.data.subscriptions.map((s) => (
                  <tr key={s.subscriptionId}>
                    <th scope="row">
                      <a href={`#/subscriptions/${s.subscriptionId}`}>{s.table}</a>
                    </th>
                    <td className="num">{count(s.records)}</td>
                    <td className="num">{money(s.amount, s.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <h2>Invoices</h2>
          {usage.data.invoices && usage.data.invoices.length > 0 ? (
            <ul>
              {usage.data.invoices.map((i) => (
                <li key={i.invoiceId}>
                  <code>{i.invoiceId}</code>: {money(i.amount, i.currency)} ({i.status})
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No invoice for {month} yet: invoices are made when the month closes.</p>
          )}
        </>
      ) : null}
    </>
  );
}
