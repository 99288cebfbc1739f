// What every page shows around data it loads: "Loading …" while a request is out, the problem when it failed, and the
// content once there is data (kept on screen while it reloads).
import type { ReactNode } from 'react';
import type { Loaded } from '../hooks';
import { Loading, ProblemMessage } from './ProblemMessage';

export function LoadState<T>({ state, what, children }: { state: Loaded<T>; what: string; children: (data: T) => ReactNode }) {
  return (
    <>
      {state.loading ? <Loading what={what} /> : null}
      {state.error ? <ProblemMessage problem={state.error} /> : null}
      {state.data ? children(state.data) : null}
    </>
  );
}
