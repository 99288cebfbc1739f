// Readiness probes for the stack's services: plain TCP/HTTP, no client libraries needed.
import { connect } from 'node:net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Sends raw bytes and resolves with the reply once it contains `until` (e.g. a Redis PING), or null on timeout. */
export function tcpExchange(port: number, payload: string, until: string, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const socket = connect({ port, host });
    const done = (v: string | null) => {
      socket.destroy();
      resolvePromise(v);
    };
    socket.setTimeout(2000, () => done(null));
    socket.on('error', () => done(null));
    socket.on('connect', () => socket.write(payload));
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(until) || buf.includes('-ERR')) done(buf);
    });
  });
}

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolvePromise(false);
    });
    socket.on('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.on('error', () => resolvePromise(false));
  });
}

export async function waitFor(what: string, probe: () => Promise<boolean>, opts: { timeoutMs: number; logHint?: string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(250);
  }
  throw new Error(`${what} did not become healthy within ${opts.timeoutMs / 1000}s${opts.logHint ? ` (see ${opts.logHint})` : ''}`);
}
