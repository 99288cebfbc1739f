// Consumers: apply to buy with a documented use case, and follow the operator's decision (pending, approved, or
// rejected with the reason). A pending or rejected application can be sent again; an approved one is final here.
import { useState, type FormEvent } from 'react';
import type { ConsumerApplication } from '@atoll/market/listings';
import { call, Problem } from '../api';
import { LoadState } from '../components/LoadState';
import { ProblemMessage } from '../components/ProblemMessage';
import { asProblem, useLoad } from '../hooks';
import { when } from '../format';

const categories = ['analytics', 'attribution', 'retargeting', 'personalization', 'ai_training', 'distribution', 'support'] as const;

const stateText: Record<ConsumerApplication['status'], string> = {
  pending: 'Pending: an operator has not decided yet. You can buy once your organisation is approved.',
  approved: 'Approved: your organisation can buy data.',
  rejected: 'Rejected: your organisation cannot buy data. You can change the application and send it again.',
};

/** The application, or null before the first one (the API answers 404 NOT_FOUND). */
async function loadApplication(): Promise<{ application: ConsumerApplication | null }> {
  try {
    return { application: await call<ConsumerApplication>('GET', '/v1/consumers/me') };
  } catch (e) {
    if (e instanceof Problem && e.code === 'NOT_FOUND') return { application: null };
    throw e;
  }
}

export function ApplicationPage() {
  const current = useLoad(loadApplication, []);
  return (
    <>
      <h1>Application</h1>
      <LoadState state={current} what="your application">
        {({ application }) => <ApplicationForm key={application?.status ?? 'none'} application={application} onSent={current.reload} />}
      </LoadState>
    </>
  );
}

function ApplicationForm({ application, onSent }: { application: ConsumerApplication | null; onSent: () => void }) {
  const [name, setName] = useState(application?.name ?? '');
  const [category, setCategory] = useState(application?.useCase.category ?? 'analytics');
  const [description, setDescription] = useState(application?.useCase.description ?? '');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState('');

  async function send(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    setNotice('');
    try {
      await call<ConsumerApplication>('PUT', '/v1/consumers/me', { name: name.trim(), useCase: { category, description: description.trim() } });
      setNotice('Your application is sent; an operator decides on it.');
      onSent();
    } catch (err) {
      setProblem(asProblem(err));
    }
  }

  return (
    <>
      {application ? (
        <section aria-labelledby="application-state">
          <h2 id="application-state">State</h2>
          <p data-testid="application-status">
            {stateText[application.status]}
          </p>
          {application.reason ? (
            <p data-testid="application-reason">
              <strong>Reason given by the operator:</strong> {application.reason}
            </p>
          ) : null}
          <p className="muted">
            Applied {when(application.createdAt)}
            {application.decidedAt ? `; decided ${when(application.decidedAt)}` : ''}.
          </p>
        </section>
      ) : (
        <p>Your organisation has not applied yet. Tell the operator who you are and what you will do with the data.</p>
      )}
      <p role="status" className="notice">
        {notice}
      </p>
      {problem ? <ProblemMessage problem={problem} title="Your application was not sent" /> : null}
      {application?.status === 'approved' ? (
        <p>
          Your use case: <strong>{application.useCase.category}</strong> — {application.useCase.description}
        </p>
      ) : (
        <form className="stack" onSubmit={(e) => void send(e)}>
          <h2>{application ? 'Change and send again' : 'Apply'}</h2>
          <label>
            Organisation name
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoComplete="organization" />
          </label>
          <label>
            Use case category
            <select value={category} onChange={(e) => setCategory(e.target.value)}>
              {categories.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label>
            What you will do with the data (at least 10 characters)
            <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={4} required maxLength={4000} />
          </label>
          <button type="submit" className="primary">
            Send application
          </button>
        </form>
      )}
    </>
  );
}
