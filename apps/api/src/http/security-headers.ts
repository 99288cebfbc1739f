// Security headers on every response (helmet): the api serves JSON, so its content policy allows nothing; the /docs
// pages get swagger-ui's own hash-based policy instead (see app.ts), and the portal its own (routes/portal).
// The helmet middleware is built once, at startup. @fastify/helmet built a new one on every request (parsing the
// options and the content policy again): ~5 % of a device upload's CPU in the tokens bench's profile.
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

export function registerSecurityHeaders(app: FastifyInstance): void {
  const setHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    // A JSON API shares nothing across origins by default; keep the same-origin defaults helmet sets.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  app.addHook('onRequest', (request, reply, done) => {
    setHeaders(request.raw, reply.raw, (err?: unknown) => done(err instanceof Error ? err : undefined));
  });
}
