// PUT /v1/providers/{id}/revenue-share: the operator sets the share of charges a provider earns (0..1). A payment
// setting: only an operator who stepped up (password + one-time code, recently) may change it.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { BillingService } from '@atoll/billing';
import { principalOf, requireRole, requireStepUp, stepUpPolicy } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function revenueShareRoute(config: Config, deps: ApiDeps, billing: BillingService): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.put(
      '/v1/providers/:id/revenue-share',
      {
        onRequest: [requireRole(deps, 'operator'), requireStepUp(stepUpPolicy(config))],
        schema: {
          tags: ['operator', 'billing'],
          summary: "Set the provider's share of future charges (0 to 1, at most 4 decimals); needs step-up (acr and a fresh auth_time)",
          params: Type.Object({ id: Uuid }),
          body: Type.Object({ share: Type.Number({ minimum: 0, maximum: 1 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ providerId: Uuid, share: Type.String() }), ...errorResponses },
        },
      },
      async (request) => {
        const r = await billing.setRevenueShare(request.params.id, request.body.share);
        const who = principalOf(request);
        request.log.info({ op: 'billing.revenue_share.set', providerId: r.providerId, share: r.share, clientId: who.clientId }, 'revenue share set');
        return r;
      },
    );
  };
}
