// Consumers: the catalogue of published datasets — columns, records, price and cohort minimum.
import { call } from '../api';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { Scroll } from '../components/Scroll';
import { useLoad } from '../hooks';
import { money } from '../format';

export interface Dataset {
  name: string;
  columns: Array<{ name: string; type: string }>;
  records: number;
  price: { amount: number; currency: string } | null;
  minCohort: number;
}

export function DatasetsPage() {
  const { data, error, loading } = useLoad(() => call<{ datasets: Dataset[] }>('GET', '/v1/datasets'), []);
  return (
    <>
      <h1>Datasets</h1>
      <p className="muted">Published, deidentified datasets. Subjects appear as a pseudonym (tid); only licensed rows are ever delivered. The update rate of a query shows in its estimate.</p>
      {loading ? <Loading what="datasets" /> : null}
      {error ? <ProblemMessage problem={error} /> : null}
      {data && data.datasets.length === 0 ? <p>No dataset is published yet.</p> : null}
      {data && data.datasets.length > 0 ? (
        <Scroll label="Published datasets">
          <table>
            <caption className="sr-only">Published datasets</caption>
            <thead>
              <tr>
                <th scope="col">Dataset</th>
                <th scope="col">Columns</th>
                <th scope="col" className="num">Records</th>
                <th scope="col" className="num">Price per record</th>
                <th scope="col" className="num">Cohort minimum</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.datasets.map((d) => (
                <tr key={d.name}>
                  <th scope="row">{d.name}</th>
                  <td>
                    {d.columns.map((c) => (
                      <span key={c.name} className="col">
                        {c.name} <span className="muted">{c.type}</span>
                      </span>
                    ))}
                  </td>
                  <td className="num">{d.records.toLocaleString('en')}</td>
                  <td className="num">{d.price ? money(d.price.amount, d.price.currency, 6) : <span className="muted">not priced yet</span>}</td>
                  <td className="num">{d.minCohort}</td>
                  <td>
                    <a href={`#/estimate?dataset=${encodeURIComponent(d.name)}`}>Estimate {d.name}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      ) : null}
    </>
  );
}
