// License routes (SPEC §5): a device signs a license, the provider's key countersigns it, the log records it;
// status, revocation (a new log entry, never an edit), delegated licenses and provider key rotation.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { LicenseDocumentSchema, LicenseTermsSchema, LicenseUseSchema, TableNameSchema, TagSchema } from '@atoll/licensing';
import { anyPrincipalOf, principalOf, requireDeviceOrRole, requireRole } from '../../auth.js';
import type { ApiDeps, Config } from '../../deps.js';
import { ErrorResponse, errorResponses, Uuid } from '../../schemas.js';
import { licensingFor } from './licensing.js';

const Base64Url = Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 2000 });
const Countersignature = Type.Object({ keyId: Type.String(), alg: Type.Literal('Ed25519'), sig: Type.String() });
const LogReceipt = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  checkpoint: Type.String({ description: 'signed note (C2SP) of the tree the proof is for' }),
  inclusionProof: Type.Array(Type.String(), { description: 'base64 RFC 9162 inclusion proof' }),
  leaf: Type.String({ description: 'base64 of the leaf bytes: the RFC 8785 JSON of the countersigned entry' }),
});
const LicenseSummary = Type.Object({
  id: Uuid,
  delegated: Type.Boolean(),
  device: Type.Union([Type.String(), Type.Null()]),
  tables: Type.Array(Type.String()),
  tags: Type.Array(Type.String()),
  uses: Type.Array(Type.Object({ usecases: Type.Array(Type.String()), destinations: Type.Array(Type.String()) })),
  expiry: Type.String(),
  issuedAt: Type.String(),
  logIndex: Type.Integer(),
  counts: Type.Boolean({ description: 'whether it counts for uploads and deliveries: device-signed, or delegated under an approved agreement' }),
});
const responses = { ...errorResponses, 422: ErrorResponse };

export function licenseRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    const { licensing, keys } = licensingFor(config, deps);
    const deviceOrProvider = requireDeviceOrRole(deps, { scope: 'license', roles: ['provider'] });

    app.post(
      '/v1/licenses',
      {
        onRequest: deviceOrProvider,
        schema: {
          tags: ['licenses'],
          summary: "Create a license: the device's signed document, countersigned by the provider and logged",
          description:
            '`signature` is the base64url RSASSA-PKCS1-v1_5 SHA-256 signature by the device key over the RFC 8785 canonical JSON of `document`. ' +
            'Only a device token (scope `license`) may call this; the document must name that device, its TID and its provider.',
          body: Type.Object({ document: LicenseDocumentSchema, signature: Base64Url }, { additionalProperties: false }),
          response: {
            201: Type.Object({ id: Uuid, document: LicenseDocumentSchema, signature: Type.String(), countersignature: Countersignature, log: LogReceipt }),
            ...responses,
          },
        },
      },
      async (request, reply) => {
        const p = anyPrincipalOf(request);
        if (p.kind !== 'device') throw new AtollError('FORBIDDEN', "only the subject's device signs its license; providers use /v1/licenses/delegated");
        const { rows } = await deps.pool.query<{ public_key_pem: string; revoked_at: Date | null }>(
          'SELECT public_key_pem, revoked_at FROM devices WHERE id = $1 AND provider_id = $2',
          [p.deviceId, p.providerId],
        );
        const device = rows[0];
        if (!device || device.revoked_at) throw new AtollError('DEVICE_REVOKED');
        const created = await licensing.create({
          document: request.body.document,
          signature: request.body.signature,
          device: { deviceId: p.deviceId, providerId: p.providerId, tid: p.tid, publicKey: device.public_key_pem },
        });
        request.log.info({ op: 'license.created', licenseId: created.id, providerId: p.providerId, logIndex: created.log.index }, 'license countersigned and logged');
        return reply.status(201).send(created);
      },
    );

    app.get(
      '/v1/licenses/status',
      {
        onRequest: deviceOrProvider,
        schema: {
          tags: ['licenses'],
          summary: "The subject's live licenses, and whether the ones that count cover every table asked for",
          description: 'A device asks for its own TID; a provider names the TID with `tid`.',
          querystring: Type.Object(
            { tables: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}(,[a-z][a-z0-9_]{0,62}){0,99}$' })), tid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ active: Type.Boolean(), licenses: Type.Array(LicenseSummary) }), ...responses },
        },
      },
      async (request) => {
        const p = anyPrincipalOf(request);
        const tables = request.query.tables?.split(',');
        if (p.kind === 'device') return licensing.status({ providerId: p.providerId, tid: p.tid, ...(tables ? { tables } : {}) });
        if (!request.query.tid) throw new AtollError('VALIDATION_FAILED', 'a provider names the subject with ?tid=');
        return licensing.status({ providerId: p.orgId, tid: request.query.tid, ...(tables ? { tables } : {}) });
      },
    );

    app.delete(
      '/v1/licenses/:id',
      {
        onRequest: deviceOrProvider,
        schema: {
          tags: ['licenses'],
          summary: "Revoke a license (by a device of its subject, or by its provider): appends a revocation to the log",
          params: Type.Object({ id: Uuid }),
          response: { 200: Type.Object({ id: Uuid, license: Uuid, log: LogReceipt }), ...responses },
        },
      },
      async (request) => {
        const p = anyPrincipalOf(request);
        const by = p.kind === 'device' ? { kind: 'device' as const, deviceId: p.deviceId, providerId: p.providerId, tid: p.tid } : { kind: 'provider' as const, providerId: p.orgId };
        const revoked = await licensing.revoke({ licenseId: request.params.id, by });
        request.log.info({ op: 'license.revoked', licenseId: request.params.id, by: by.kind, logIndex: revoked.log.index }, 'license revoked');
        return revoked;
      },
    );

    app.post(
      '/v1/licenses/delegated',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['licenses'],
          summary: "Delegated licenses: the provider's own agreement, countersigned and logged for each TID",
          body: Type.Object(
            {
              tids: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 }),
              template: Type.Object(
                { tables: Type.Array(TableNameSchema, { minItems: 1, maxItems: 100, uniqueItems: true }), tags: Type.Array(TagSchema, { maxItems: 100, uniqueItems: true }), terms: LicenseTermsSchema },
                { additionalProperties: false },
              ),
              uses: Type.Array(LicenseUseSchema, { minItems: 1, maxItems: 20 }),
              expiry: Type.String({ format: 'date-time' }),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ licenses: Type.Array(Type.Object({ id: Uuid, tid: Type.String(), log: LogReceipt })) }), ...responses },
        },
      },
      async (request, reply) => {
        const providerId = principalOf(request).orgId;
        const { tids, template, uses, expiry } = request.body;
        const out = await licensing.createDelegated({ providerId, tids, terms: { ...template, uses, expiry } });
        request.log.info({ op: 'license.delegated.created', providerId, count: out.licenses.length }, 'delegated licenses logged');
        return reply.status(201).send(out);
      },
    );

    app.post(
      '/v1/licenses/signing-key/rotate',
      {
        onRequest: requireRole(deps, 'provider'),
        schema: {
          tags: ['licenses'],
          summary: "Rotate the provider's countersigning key; the old public key stays published for verification",
          response: { 200: Type.Object({ keyId: Type.String(), publicKey: Type.String() }), ...responses },
        },
      },
      async (request) => {
        const providerId = principalOf(request).orgId;
        const k = await keys.rotateProviderKey(providerId);
        request.log.info({ op: 'license.signing_key.rotated', providerId, keyId: k.id }, 'provider signing key rotated');
        return { keyId: k.id, publicKey: k.publicKey.toString('base64') };
      },
    );
  };
}
