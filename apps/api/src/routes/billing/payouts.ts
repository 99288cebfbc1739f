// GET /v1/payouts?month=YYYY-MM: the provider's share of the month's charges per subject (TID), to reward its users.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { BillingService } from '@atoll/billing';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function payoutsRoute(deps: ApiDeps, billing: BillingService): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/payouts',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['provider', 'billing'],
          summary: "The provider's share per TID of the records charged in a month",
          querystring: Type.Object({ month: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              month: Type.String(),
              providerId: Uuid,
              share: Type.String(),
              payouts: Type.Array(Type.Object({ tid: Type.String(), records: Type.Integer(), amount: Type.String(), currency: Type.String() })),
              totals: Type.Array(Type.Object({ currency: Type.String(), amount: Type.String() })),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => billing.payouts(principalOf(request).orgId, { month: request.query.month }),
    );
  };
}
