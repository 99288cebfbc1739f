// Operators: approve or reject buyers, each with the use case it documented. An approval issues the buyer's API key;
// its secret is shown once, behind a disclosure, for the operator to hand over.
import { useState } from 'react';
import { call, type Problem } from '../api';
import { Loading, ProblemMessage } from '../components/ProblemMessage';
import { OnceSecret } from '../components/Secret';
import { asProblem, useLoad } from '../hooks';
import { when } from '../format';

interface Buyer {
  id: string;
  name: string;
  status: 'pending' | 'approved' | 'rejected';
  useCase: { category: string; description: string };
  createdAt: string;
  reason: string | null;
  decidedAt: string | null;
}

export function BuyersPage() {
  const [status, setStatus] = useState<'pending' | 'approved' | 'rejected'>('pending');
  const list = useLoad(() => call<{ consumers: Buyer[] }>('GET', `/v1/consumers?status=${status}`), [status]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState('');
  const [issued, setIssued] = useState<{ name: string; clientId: string; clientSecret: string } | null>(null);
  const [reasons, setReasons] = useState<Record<string, string>>({});

  async function approve(b: Buyer) {
    setProblem(null);
    try {
      const r = await call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${b.id}/approve`);
      setIssued({ name: b.name, ...r });
      setNotice(`${b.name} is approved.`);
      list.reload();
    } catch (e) {
      setProblem(asProblem(e));
    }
  }

  async function reject(b: Buyer) {
    setProblem(null);
    const reason = (reasons[b.id] ?? '').trim();
    if (!reason) {
      setNotice(`Give a reason before rejecting ${b.name}.`);
      return;
    }
    try {
      await call('POST', `/v1/consumers/${b.id}/reject`, { reason });
      setNotice(`${b.name} is rejected.`);
      list.reload();
    } catch (e) {
      setProblem(asProblem(e));
    }
  }

  return (
    <>
      <h1>Buyers</h1>
      <label className="inline">
        Show
        <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
          <option value="pending">pending</option>
          <option value="approved">approved</option>
          <option value="rejected">rejected</option>
        </select>
      </label>
      <p role="status" className="notice">
        {notice}
      </p>
      {problem ? <ProblemMessage problem={problem} /> : null}
      {issued ? (
        <OnceSecret key={issued.clientId} title={`API key of ${issued.name}`}>
          <p>
            Client id: <code>{issued.clientId}</code>
          </p>
          <details>
            <summary>Show the client secret</summary>
            <code>{issued.clientSecret}</code>
          </details>
        </OnceSecret>
      ) : null}
      {list.loading ? <Loading what="buyers" /> : null}
      {list.error ? <ProblemMessage problem={list.error} /> : null}
      {list.data && list.data.consumers.length === 0 ? <p>No {status} buyer.</p> : null}
      <ul className="cards wide">
        {list.data?.consumers.map((b) => (
          <li key={b.id}>
            <article aria-labelledby={`buyer-${b.id}`}>
              <h2 id={`buyer-${b.id}`}>{b.name}</h2>
              <p>
                <strong>Use case:</strong> {b.useCase.category}
              </p>
              <blockquote>{b.useCase.description}</blockquote>
              <p className="muted">
                Applied {when(b.createdAt)}
                {b.decidedAt ? `; decided ${when(b.decidedAt)}` : ''}
              </p>
              {b.reason ? (
                <p>
                  <strong>Reason:</strong> {b.reason}
                </p>
              ) : null}
              {b.status !== 'rejected' ? (
                <div className="row">
                  {b.status === 'pending' ? (
                    <button type="button" className="primary" onClick={() => void approve(b)}>
                      Approve {b.name}
                    </button>
                  ) : null}
                  <label>
                    Reason to reject {b.name}
                    <input value={reasons[b.id] ?? ''} onChange={(e) => setReasons({ ...reasons, [b.id]: e.target.value })} maxLength={2000} />
                  </label>
                  <button type="button" onClick={() => void reject(b)}>
                    {b.status === 'pending' ? 'Reject' : 'Withdraw access of'} {b.name}
                  </button>
                </div>
              ) : null}
            </article>
          </li>
        ))}
      </ul>
    </>
  );
}
