// Providers propose table schemas and follow their state; operators approve or reject them with a reason.
import { useState, type FormEvent } from 'react';
import { call, type Problem } from '../api';
import { DataTable } from '../components/DataTable';
import { LoadState } from '../components/LoadState';
import { ProblemMessage } from '../components/ProblemMessage';
import { asProblem, useLoad } from '../hooks';
import { when } from '../format';

interface TableSchema {
  id: string;
  providerId: string;
  table: string;
  dataset: string;
  columns: Array<{ name: string; type: string; role?: string }>;
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  createdAt: string;
}

const columnsText = (s: TableSchema) => s.columns.map((c) => `${c.name} ${c.type}${c.role ? ` (${c.role})` : ''}`).join(', ');

/** "name type [role]" per line → the API's columns. */
export function parseColumns(text: string): Array<{ name: string; type: string; role?: string }> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => {
      const [name = '', type = '', role] = l.split(/\s+/);
      return role ? { name, type, role } : { name, type };
    });
}

export function ProviderSchemasPage() {
  const list = useLoad(() => call<{ schemas: TableSchema[] }>('GET', '/v1/schemas'), []);
  const [table, setTable] = useState('');
  const [dataset, setDataset] = useState('');
  const [columns, setColumns] = useState('user_id string user_id\n');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState('');

  async function propose(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    try {
      await call('POST', '/v1/schemas', { table: table.trim(), dataset: dataset.trim(), columns: parseColumns(columns) });
      setNotice(`Schema for ${table.trim()} proposed; an operator decides on it.`);
      list.reload();
    } catch (err) {
      setProblem(asProblem(err));
    }
  }

  return (
    <>
      <h1>Schemas</h1>
      <p role="status" className="notice">
        {notice}
      </p>
      {problem ? <ProblemMessage problem={problem} /> : null}
      <form className="stack" onSubmit={(e) => void propose(e)}>
        <h2>Propose a schema</h2>
        <label>
          Table
          <input value={table} onChange={(e) => setTable(e.target.value)} required pattern="[A-Za-z_][A-Za-z0-9_]*" />
        </label>
        <label>
          Dataset name (as consumers will see it)
          <input value={dataset} onChange={(e) => setDataset(e.target.value)} required pattern="[A-Za-z_][A-Za-z0-9_]*" />
        </label>
        <label>
          Columns, one per line: name type [role]
          <textarea value={columns} onChange={(e) => setColumns(e.target.value)} rows={5} spellCheck={false} required />
        </label>
        <p className="muted">Types: string, long, double, boolean, date, timestamp, decimal(p,s). Roles: user_id, identity, event_time, data.</p>
        <button type="submit" className="primary">
          Propose schema
        </button>
      </form>
      <h2>Your schemas</h2>
      <LoadState state={list} what="schemas">
        {(data) => (
          <DataTable
            label="Your schemas, newest first"
            testId="schemas"
            rows={data.schemas}
            rowKey={(s) => s.id}
            empty={<p>No schema yet.</p>}
            columns={[
              { header: 'Table', rowHeader: true, cell: (s) => s.table },
              { header: 'Dataset', cell: (s) => s.dataset },
              { header: 'Columns', cell: columnsText },
              { header: 'State', cell: (s) => s.status },
              { header: 'Reason', cell: (s) => s.reason ?? '' },
              { header: 'Proposed', cell: (s) => when(s.createdAt) },
            ]}
          />
        )}
      </LoadState>
    </>
  );
}

export function OperatorSchemasPage() {
  const list = useLoad(() => call<{ schemas: TableSchema[] }>('GET', '/v1/schemas?status=pending'), []);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState('');
  const [reasons, setReasons] = useState<Record<string, string>>({});

  async function decide(s: TableSchema, approve: boolean) {
    setProblem(null);
    const reason = (reasons[s.id] ?? '').trim();
    if (!approve && !reason) {
      setNotice(`Give a reason before rejecting ${s.table}.`);
      return;
    }
    try {
      await call('POST', `/v1/schemas/${s.id}/${approve ? 'approve' : 'reject'}`, approve ? undefined : { reason });
      setNotice(`${s.table} (${s.dataset}) is ${approve ? 'approved' : 'rejected'}.`);
      list.reload();
    } catch (err) {
      setProblem(asProblem(err));
    }
  }

  return (
    <>
      <h1>Pending schemas</h1>
      <p role="status" className="notice">
        {notice}
      </p>
      {problem ? <ProblemMessage problem={problem} /> : null}
      <LoadState state={list} what="schemas">
        {(data) => (data.schemas.length === 0 ? <p>No schema waits for a decision.</p> : null)}
      </LoadState>
      <ul className="cards wide">
        {list.data?.schemas.map((s) => (
          <li key={s.id}>
            <article aria-labelledby={`schema-${s.id}`}>
              <h2 id={`schema-${s.id}`}>
                {s.table} → dataset {s.dataset}
              </h2>
              <p>{columnsText(s)}</p>
              <p className="muted">
                Provider {s.providerId}, proposed {when(s.createdAt)}
              </p>
              <div className="row">
                <button type="button" className="primary" onClick={() => void decide(s, true)}>
                  Approve {s.table}
                </button>
                <label>
                  Reason to reject {s.table}
                  <input value={reasons[s.id] ?? ''} onChange={(e) => setReasons({ ...reasons, [s.id]: e.target.value })} maxLength={2000} />
                </label>
                <button type="button" onClick={() => void decide(s, false)}>
                  Reject {s.table}
                </button>
              </div>
            </article>
          </li>
        ))}
      </ul>
    </>
  );
}
