// Operators: a dataset's price and cohort minimum, and a provider's revenue share — payment settings, which need a
// fresh second factor (step-up): the API refuses without it, and the page offers to sign in again with the code.
import { useState, type FormEvent } from 'react';
import { call, type Problem } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { useShell } from '../context';
import { asProblem } from '../hooks';

export function DatasetSettingsPage() {
  const { signInAgain } = useShell();
  const [dataset, setDataset] = useState('');
  const [amount, setAmount] = useState('0.01');
  const [currency, setCurrency] = useState('usd');
  const [minimum, setMinimum] = useState('25');
  const [providerId, setProviderId] = useState('');
  const [share, setShare] = useState('0.7');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState('');

  async function submit(e: FormEvent, what: string, run: () => Promise<unknown>) {
    e.preventDefault();
    setProblem(null);
    setNotice('');
    try {
      await run();
      setNotice(`${what} saved.`);
    } catch (err) {
      setProblem(asProblem(err));
    }
  }

  const stepUp = problem?.code === 'STEP_UP_REQUIRED';
  return (
    <>
      <h1>Prices, cohorts and revenue shares</h1>
      <p role="status" className="notice">
        {notice}
      </p>
      {problem ? <ProblemMessage problem={problem} {...(stepUp ? { title: 'Confirm with your one-time code' } : {})} /> : null}
      {stepUp ? (
        <button type="button" className="primary" onClick={() => signInAgain({ stepUp: true })}>
          Sign in again with your one-time code
        </button>
      ) : null}
      <form className="stack" onSubmit={(e) => void submit(e, `The price of ${dataset}`, () => call('PUT', `/v1/datasets/${encodeURIComponent(dataset)}/price`, { perRecord: { amount: Number(amount), currency } }))}>
        <h2>Price</h2>
        <label>
          Dataset
          <input value={dataset} onChange={(e) => setDataset(e.target.value)} required pattern="[A-Za-z_][A-Za-z0-9_]*" />
        </label>
        <label>
          Price per record
          <input type="number" min="0" max="1000" step="any" value={amount} onChange={(e) => setAmount(e.target.value)} required />
        </label>
        <label>
          Currency (ISO code)
          <input value={currency} onChange={(e) => setCurrency(e.target.value.toLowerCase())} required pattern="[a-z]{3}" />
        </label>
        <button type="submit">Set price</button>
      </form>
      <form className="stack" onSubmit={(e) => void submit(e, `The cohort minimum of ${dataset}`, () => call('PUT', `/v1/datasets/${encodeURIComponent(dataset)}/cohort`, { minimum: Number(minimum) }))}>
        <h2>Cohort minimum</h2>
        <p className="muted">Uses the dataset named above. Every estimate and run must reach this many distinct subjects.</p>
        <label>
          Least distinct subjects
          <input type="number" min="25" step="1" value={minimum} onChange={(e) => setMinimum(e.target.value)} required />
        </label>
        <button type="submit" disabled={!dataset}>
          Set cohort minimum
        </button>
      </form>
      <form className="stack" onSubmit={(e) => void submit(e, 'The revenue share', () => call('PUT', `/v1/providers/${encodeURIComponent(providerId)}/revenue-share`, { share: Number(share) }))}>
        <h2>Revenue share (payment setting)</h2>
        <p className="muted">Needs a sign-in with your one-time code within the last few minutes.</p>
        <label>
          Provider id
          <input value={providerId} onChange={(e) => setProviderId(e.target.value)} required />
        </label>
        <label>
          Provider&apos;s share (0 to 1)
          <input type="number" min="0" max="1" step="0.0001" value={share} onChange={(e) => setShare(e.target.value)} required />
        </label>
        <button type="submit">Set revenue share</button>
      </form>
    </>
  );
}
