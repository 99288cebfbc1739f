// Loading state for a page's API calls: the data, the Problem when it failed, and a way to load again.
import { useCallback, useEffect, useState } from 'react';
import { Problem } from './api';

export interface Loaded<T> {
  data: T | null;
  error: Problem | null;
  loading: boolean;
  reload: () => void;
}

export function asProblem(e: unknown): Problem {
  return e instanceof Problem ? e : new Problem('api', 'Something went wrong in the portal. Reload the page and try again.');
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: Problem | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const run = useCallback(load, deps);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    run().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: unknown) => live && setState({ data: null, error: asProblem(e), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [run, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
