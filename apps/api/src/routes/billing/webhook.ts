// POST /v1/billing/webhook: Stripe's events, verified with the endpoint's signing secret over the raw body.
import type { FastifyPluginAsync } from 'fastify';
import type { BillingService } from '@atoll/billing';
import { AtollError } from '@atoll/errors';
import { errorResponses } from '../../schemas.js';

export function webhookRoute(billing: BillingService): FastifyPluginAsync {
  return async (app) => {
    // The signature covers the exact bytes Stripe sent: keep them (this scope only) instead of parsed JSON.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    app.post(
      '/v1/billing/webhook',
      {
        schema: {
          tags: ['billing'],
          summary: 'Stripe webhook endpoint (Stripe-Signature verified; replays refused)',
          response: { 200: { type: 'object', properties: { received: { type: 'boolean' }, type: { type: 'string' } } }, ...errorResponses },
        },
      },
      async (request) => {
        if (!Buffer.isBuffer(request.body)) throw new AtollError('BAD_REQUEST', 'the webhook body must be application/json');
        const header = request.headers['stripe-signature'];
        return billing.webhook(request.body, Array.isArray(header) ? header[0] : header);
      },
    );
  };
}
