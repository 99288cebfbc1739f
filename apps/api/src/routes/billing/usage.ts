// GET /v1/billing/usage?month=YYYY-MM: a consumer's charges per subscription, a provider's revenue per dataset, or
// (operator) everything with the month's balance.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { BillingService, Viewer } from '@atoll/billing';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

const Amount = Type.String({ description: 'exact decimal in the currency’s major unit' });

export function usageRoute(deps: ApiDeps, billing: BillingService): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/billing/usage',
      {
        onRequest: requireRole(deps, 'consumer', 'provider', 'operator'),
        schema: {
          tags: ['billing'],
          summary: 'Records charged and amounts for a month (consumer: per subscription; provider: per dataset; operator: all)',
          querystring: Type.Object({ month: Type.String({ maxLength: 40 }), subscription: Type.Optional(Uuid) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              month: Type.String(),
              subscriptions: Type.Optional(
                Type.Array(Type.Object({ subscriptionId: Uuid, consumerId: Uuid, table: Type.String(), records: Type.Integer(), amount: Amount, currency: Type.String() })),
              ),
              totals: Type.Optional(Type.Array(Type.Object({ currency: Type.String(), amount: Amount, records: Type.Integer() }))),
              invoices: Type.Optional(Type.Array(Type.Object({ consumerId: Uuid, currency: Type.String(), invoiceId: Type.String(), amount: Amount, status: Type.String() }))),
              datasets: Type.Optional(
                Type.Array(Type.Object({ dataset: Type.String(), providerId: Uuid, records: Type.Integer(), gross: Amount, revenue: Amount, currency: Type.String() })),
              ),
              balance: Type.Optional(Type.Array(Type.Object({ currency: Type.String(), charges: Amount, payouts: Amount, platform: Amount }))),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const p = principalOf(request);
        const viewer: Viewer = p.roles.includes('operator') ? { role: 'operator' } : p.roles.includes('provider') ? { role: 'provider', orgId: p.orgId } : { role: 'consumer', orgId: p.orgId };
        return billing.usage(viewer, { month: request.query.month, subscriptionId: request.query.subscription });
      },
    );
  };
}
