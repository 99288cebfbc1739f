// Consumers: the catalogue of published datasets — columns, records, price and cohort minimum.
import type { DatasetListing } from '@atoll/market/listings';
import { call } from '../api';
import { DataTable } from '../components/DataTable';
import { LoadState } from '../components/LoadState';
import { useLoad } from '../hooks';
import { money } from '../format';

export function DatasetsPage() {
  const datasets = useLoad(() => call<{ datasets: DatasetListing[] }>('GET', '/v1/datasets'), []);
  return (
    <>
      <h1>Datasets</h1>
      <p className="muted">Published, deidentified datasets. Subjects appear as a pseudonym (tid); only licensed rows are ever delivered. The update rate of a query shows in its estimate.</p>
      <LoadState state={datasets} what="datasets">
        {(data) => (
          <DataTable
            label="Published datasets"
            rows={data.datasets}
            rowKey={(d) => d.name}
            empty={<p>No dataset is published yet.</p>}
            columns={[
              { header: 'Dataset', rowHeader: true, cell: (d) => d.name },
              {
                header: 'Columns',
                cell: (d) =>
                  d.columns.map((c) => (
                    <span key={c.name} className="col">
                      {c.name} <span className="muted">{c.type}</span>
                    </span>
                  )),
              },
              { header: 'Records', num: true, cell: (d) => d.records.toLocaleString('en') },
              { header: 'Price per record', num: true, cell: (d) => (d.price ? money(d.price.amount, d.price.currency, 6) : <span className="muted">not priced yet</span>) },
              { header: 'Cohort minimum', num: true, cell: (d) => d.minCohort },
              { header: null, cell: (d) => <a href={`#/estimate?dataset=${encodeURIComponent(d.name)}`}>Estimate {d.name}</a> },
            ]}
          />
        )}
      </LoadState>
    </>
  );
}
