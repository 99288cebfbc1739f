// GET /v1/agreements: a provider lists its own agreements; an operator lists everyone's (e.g. ?status=pending).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Agreements } from '@atoll/licensing';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses } from '../../schemas.js';
import { AgreementSchema, AgreementStatusSchema } from './schemas.js';

export function listRoute(deps: ApiDeps, agreements: Agreements): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/v1/agreements',
      {
        onRequest: requireRole(deps, 'operator', 'provider'),
        schema: {
          tags: ['agreements'],
          summary: 'Agreements, newest first (at most 500): a provider sees its own, an operator sees all',
          querystring: Type.Object({ status: Type.Optional(AgreementStatusSchema) }, { additionalProperties: false }),
          response: { 200: Type.Object({ agreements: Type.Array(AgreementSchema) }), ...errorResponses },
        },
      },
      async (request) => {
        const p = principalOf(request);
        const status = request.query.status;
        // Operator first: an operator token sees the whole queue; any other caller only its own organisation's.
        const providerId = p.roles.includes('operator') ? undefined : p.orgId;
        return { agreements: await agreements.list({ ...(providerId ? { providerId } : {}), ...(status ? { status } : {}) }) };
      },
    );
  };
}
