// A failure as a person reads it: what happened, in words, and the one action that helps. Never a stack trace.
import type { Problem } from '../api';
import { useShell } from '../context';

export function ProblemMessage({ problem, title }: { problem: Problem; title?: string }) {
  const { signInAgain } = useShell();
  const heading =
    title ??
    (problem.kind === 'expired' || problem.kind === 'signed-out'
      ? 'Session ended'
      : problem.kind === 'forbidden'
        ? 'Not allowed for your account'
        : problem.kind === 'network'
          ? 'Network error'
          : problem.code === 'CONSUMER_NOT_APPROVED'
            ? 'Your organisation is waiting for approval'
            : 'The request was refused');
  return (
    <div role="alert" className="problem">
      <p className="problem-title">{heading}</p>
      <p>{problem.message}</p>
      {problem.code && problem.kind === 'api' ? <p className="muted">Code: {problem.code}</p> : null}
      {problem.code === 'CONSUMER_NOT_APPROVED' ? (
        <p>
          <a href="#/application">See your application and its state</a>
        </p>
      ) : null}
      {problem.kind === 'expired' || problem.kind === 'signed-out' ? (
        <button type="button" onClick={() => signInAgain()}>
          Sign in again
        </button>
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="muted">
      Loading {what}…
    </p>
  );
}
