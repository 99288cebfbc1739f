// Operators: whether every dependency answers (the api's /readyz).
import { Loading } from '../components/ProblemMessage';
import { useLoad } from '../hooks';
import { Problem } from '../api';

interface Ready {
  status: string;
  checks: Record<string, { ok: boolean; error?: string; ms?: number }>;
}

async function readyz(): Promise<Ready> {
  let res: Response;
  try {
    res = await fetch('/readyz', { cache: 'no-store' });
  } catch {
    throw new Problem('network', 'The Atoll API could not be reached (network error).');
  }
  // 503 carries the same body, naming what is down.
  return (await res.json()) as Ready;
}

export function HealthPage() {
  const { data, error, loading, reload } = useLoad(readyz, []);
  return (
    <>
      <h1>System health</h1>
      <button type="button" onClick={reload}>
        Check again
      </button>
      {loading ? <Loading what="health" /> : null}
      {error ? (
        <p role="alert" className="problem">
          {error.message}
        </p>
      ) : null}
      {data ? (
        <>
          <p data-testid="health-status">
            Overall: <strong>{data.status}</strong>
          </p>
          <table>
            <caption className="sr-only">Dependencies</caption>
            <thead>
              <tr>
                <th scope="col">Dependency</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(data.checks).map(([name, c]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>{c.ok ? 'up' : `down${c.error ? `: ${c.error}` : ''}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </>
  );
}
