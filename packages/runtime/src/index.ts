// Process lifecycle shared by every app: graceful shutdown on SIGTERM/SIGINT (a second signal forces exit) and a
// tiny health server for workers.
import { createServer, type Server } from 'node:http';
import type { Logger } from '@atoll/log';

export function onShutdown(opts: { log: Logger; timeoutMs: number; close: () => Promise<void> }): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      opts.log.warn({ op: 'process.shutdown.forced', signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    opts.log.info({ op: 'process.shutdown.started', signal }, 'shutting down');
    const timer = setTimeout(() => {
      opts.log.error({ op: 'process.shutdown.timeout' }, 'shutdown took too long: exiting');
      process.exit(1);
    }, opts.timeoutMs);
    timer.unref();
    opts.close().then(
      () => {
        opts.log.info({ op: 'process.shutdown.done' }, 'bye');
        process.exit(0);
      },
      (err: unknown) => {
        opts.log.error({ op: 'process.shutdown.failed', err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** `/healthz` (process up) and `/readyz` (the worker's dependencies answer) for workers that serve no HTTP API. */
export function startHealthServer(opts: { host: string; port: number; ready: () => Promise<boolean> }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.url === '/readyz') {
      opts.ready().then(
        (ok) => res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'unavailable' })),
        () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unavailable"}'),
      );
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
