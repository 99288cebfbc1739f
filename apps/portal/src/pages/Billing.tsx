// Consumers: the billing dashboard — records delivered per day and subscription as a chart, the month's charges per
// subscription and in total, and the month's invoices.
import { useState } from 'react';
import type { SubscriptionListing, SubscriptionView } from '@atoll/market/listings';
import { call } from '../api';
import { DataTable } from '../components/DataTable';
import { LoadState } from '../components/LoadState';
import { MonthField } from '../components/MonthField';
import { UsageChart, type DailyUsage } from '../components/UsageChart';
import { useLoad } from '../hooks';
import { count, money, thisMonth } from '../format';

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
      <MonthField month={month} onChange={setMonth} />
      <h2>Usage per day</h2>
      <LoadState state={runs} what="usage">
        {() =>
          days.length === 0 ? (
            <p>No records were delivered in {month}.</p>
          ) : (
            <>
              <UsageChart month={month} days={days} series={series} />
              <details>
                <summary>Usage per day as a table</summary>
                <DataTable
                  label="Records delivered per day and subscription"
                  scroll={false}
                  rows={days}
                  rowKey={(d) => d.day}
                  columns={[
                    { header: 'Day', rowHeader: true, cell: (d) => d.day },
                    ...series.map((s) => ({ header: s.label, num: true, cell: (d: DailyUsage) => count(d.bySubscription[s.id] ?? 0) })),
                  ]}
                />
              </details>
            </>
          )
        }
      </LoadState>
      <h2>Charges in {month}</h2>
      <LoadState state={usage} what="charges">
        {(data) => (
          <>
            <p className="total" data-testid="month-total">
              Month total:{' '}
              {data.totals && data.totals.length > 0
                ? data.totals.map((t) => `${money(t.amount, t.currency)} for ${count(t.records)} records`).join('; ')
                : 'nothing charged'}
            </p>
            <DataTable
              label="Per subscription"
              visibleCaption
              scroll={false}
              rows={data.subscriptions ?? []}
              rowKey={(s) => s.subscriptionId}
              columns={[
                { header: 'Table', rowHeader: true, cell: (s) => <a href={`#/subscriptions/${s.subscriptionId}`}>{s.table}</a> },
                { header: 'Records charged', num: true, cell: (s) => count(s.records) },
                { header: 'Amount', num: true, cell: (s) => money(s.amount, s.currency) },
              ]}
            />
            <h2>Invoices</h2>
            {data.invoices && data.invoices.length > 0 ? (
              <ul data-testid="invoices">
                {data.invoices.map((i) => (
                  <li key={i.invoiceId}>
                    <code>{i.invoiceId}</code>: {money(i.amount, i.currency)} ({i.status})
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted">No invoice for {month} yet: invoices are made when the month closes.</p>
            )}
          </>
        )}
      </LoadState>
    </>
  );
}
