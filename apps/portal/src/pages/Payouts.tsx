// Providers: the month's share of charges, per subject pseudonym.
import { useState } from 'react';
import { call } from '../api';
import { DataTable } from '../components/DataTable';
import { LoadState } from '../components/LoadState';
import { MonthField } from '../components/MonthField';
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
  const payouts = useLoad(() => call<Payouts>('GET', `/v1/payouts?month=${encodeURIComponent(month)}`), [month]);
  return (
    <>
      <h1>Payouts</h1>
      <MonthField month={month} onChange={setMonth} />
      <LoadState state={payouts} what="payouts">
        {(data) => (
          <>
            <p>
              Your share of charges: {(Number(data.share) * 100).toFixed(2)} %. Total for {data.month}:{' '}
              {data.totals.length > 0 ? data.totals.map((t) => money(t.amount, t.currency)).join('; ') : 'nothing yet'}.
            </p>
            <DataTable
              label="Payouts per subject"
              rows={data.payouts}
              rowKey={(p) => `${p.tid}-${p.currency}`}
              columns={[
                { header: 'Subject (tid)', cell: (p) => <code>{p.tid}</code> },
                { header: 'Records charged', num: true, cell: (p) => count(p.records) },
                { header: 'Amount', num: true, cell: (p) => money(p.amount, p.currency, 6) },
              ]}
            />
          </>
        )}
      </LoadState>
    </>
  );
}
