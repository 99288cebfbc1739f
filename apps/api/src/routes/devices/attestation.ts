// POST /v1/devices/attestations: the provider vouches that one device may register for one of its users (SPEC §4).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { principalOf, requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses } from '../../schemas.js';
import { UserId } from './schemas.js';

export function attestationRoute(deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/devices/attestations',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['devices'],
          summary: 'Issue a short-lived, single-use attestation that lets one device register for this user id',
          body: Type.Object({ userId: UserId }, { additionalProperties: false }),
          response: { 200: Type.Object({ attestation: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), ...errorResponses },
        },
      },
      async (request) => {
        const providerId = principalOf(request).orgId;
        const issued = await deps.deviceTokens.issueAttestation({ providerId, userId: request.body.userId });
        request.log.info({ op: 'device.attestation.issued', attestationId: issued.jti }, 'device attestation issued');
        return { attestation: issued.attestation, expiresAt: issued.expiresAt.toISOString() };
      },
    );
  };
}
