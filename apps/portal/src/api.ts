// The portal's one way to the public API: the person's bearer token, JSON in and out, and every failure turned into
// a Problem the page can explain (expired session, wrong role, the API's own error, no network).
import { currentSession } from './auth';

export type ProblemKind = 'expired' | 'signed-out' | 'forbidden' | 'api' | 'network';

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly status = 0,
    readonly code = '',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

export async function call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const session = currentSession();
  if (session === 'expired') throw new Problem('expired', 'Your session has expired. Sign in again to continue.');
  if (!session) throw new Problem('signed-out', 'You are signed out. Sign in to continue.');
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${session.accessToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new Problem('network', 'The Atoll API could not be reached (network error). Check your connection and try again.');
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (res.ok) return parsed as T;
  const error = (parsed as ErrorBody | null)?.error;
  const code = error?.code ?? '';
  const message = error?.message ?? `The API answered HTTP ${res.status} without an explanation.`;
  if (res.status === 401) {
    const expired = /expired/i.test(message);
    throw new Problem('expired', expired ? 'Your session has expired. Sign in again to continue.' : `You are not signed in any more (${message}). Sign in again.`, 401, code);
  }
  if (res.status === 403 && code === 'FORBIDDEN') {
    throw new Problem('forbidden', `Your account may not do this: ${message}. Sign in with an account that has that role.`, 403, code);
  }
  throw new Problem('api', message, res.status, code, error?.details ?? {});
}
