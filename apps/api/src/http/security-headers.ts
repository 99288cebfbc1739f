// Security headers on every response (@fastify/helmet): the api serves JSON, so its content policy allows nothing;
// the /docs pages get swagger-ui's own hash-based policy instead (see app.ts).
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    // A JSON API shares nothing across origins by default; keep the same-origin defaults helmet sets.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
