// POST /v1/agreements: a provider submits the agreement its delegated licenses stand for; an operator decides on it.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LicenseTermsSchema, type Agreements } from '@atoll/licensing';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses } from '../../schemas.js';
import { AgreementSchema } from './schemas.js';

export function submitRoute(deps: ApiDeps, agreements: Agreements): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/agreements',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['agreements'],
          summary: "Submit the provider's own agreement (by the SHA-256 of its terms) for an operator's approval",
          description:
            'Delegated licenses (`POST /v1/licenses/delegated`) whose `template.terms.sha256` is this hash are logged at once but count for ' +
            'uploads and deliveries only while the agreement is approved. One pending or approved agreement per terms hash (else 409).',
          body: Type.Object(
            { terms: LicenseTermsSchema, title: Type.String({ minLength: 1, maxLength: 200 }), description: Type.String({ maxLength: 4000 }) },
            { additionalProperties: false },
          ),
          response: { 201: AgreementSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const providerId = principalOf(request).orgId;
        const agreement = await agreements.submit({ providerId, ...request.body });
        request.log.info({ op: 'agreement.submitted', agreementId: agreement.id, providerId }, 'agreement submitted');
        return reply.status(201).send(agreement);
      },
    );
  };
}
