// Security headers on every response (helmet): the api serves JSON, so its content policy allows nothing; the /docs
// pages get swagger-ui's own hash-based policy instead (see app.ts), and the portal its own (routes/portal).
// helmet decides the headers, once, at startup: its middleware is run against a recording response and what it sets
// is kept. Each request then copies them into Fastify's reply headers in a plain onRequest hook, so Node writes them
// with Fastify's own in one `writeHead` — no middleware chain and no `setHeader` validation per header per request
// (the middleware per request was ~4 % of a device upload's CPU in the tokens bench's profile, issue 12).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

const middleware = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
  },
  // A JSON API shares nothing across origins by default; keep the same-origin defaults helmet sets.
  crossOriginResourcePolicy: { policy: 'same-origin' },
  referrerPolicy: { policy: 'no-referrer' },
});

/**
 * The headers helmet sets (lower-case names), read by running its middleware once on a response that only records.
 * helmet's other action, removing X-Powered-By, needs no copy: neither Node nor Fastify sets that header.
 */
export function securityHeaders(): ReadonlyArray<readonly [string, string]> {
  const set = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      if (typeof value !== 'string') throw new Error(`helmet set ${name} to a non-string value`);
      set.set(name.toLowerCase(), value);
      return recorder;
    },
    removeHeader(name: string) {
      set.delete(name.toLowerCase());
    },
  };
  let finished = false;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error('helmet failed');
    finished = true;
  });
  // helmet 8's middleware is synchronous; if a later version were not, the headers read here would be incomplete.
  if (!finished) throw new Error('helmet did not finish synchronously; the security headers cannot be precomputed');
  return [...set];
}

export function registerSecurityHeaders(app: FastifyInstance): void {
  const headers = securityHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    for (let i = 0; i < headers.length; i++) void reply.header(headers[i]![0], headers[i]![1]);
    done();
  });
}
