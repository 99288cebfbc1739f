// The shape the operator's decision routes share (approve.ts, reject.ts, revoke.ts): approve and reject need a pending
// agreement, revoke an approved one; 409 otherwise, 404 for an unknown id, 403 for anyone but an operator.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AgreementDecision, Agreements } from '@atoll/licensing';
import { requireRole } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses } from '../../schemas.js';
import { AgreementParams, AgreementSchema, DecisionReason } from './schemas.js';

/** POST /v1/agreements/{id}/<decision>: the three decisions differ only in their path, body and summary. */
export function decisionRoute(deps: ApiDeps, agreements: Agreements, decision: AgreementDecision, summary: string): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      `/v1/agreements/:id/${decision}`,
      {
        onRequest: requireRole(deps, 'operator'),
        schema: {
          tags: ['agreements'],
          summary,
          params: AgreementParams,
          ...(decision === 'approve' ? {} : { body: DecisionReason }),
          response: { 200: AgreementSchema, ...errorResponses },
        },
      },
      async (request) => {
        const reason = (request.body as { reason?: string } | undefined)?.reason;
        const agreement = await agreements.decide({ id: request.params.id, decision, ...(reason ? { reason } : {}) });
        request.log.info({ op: `agreement.${agreement.status}`, agreementId: agreement.id, providerId: agreement.providerId }, `agreement ${agreement.status}`);
        return agreement;
      },
    );
  };
}
