// POST /v1/devices: a device registers its RSA-2048 public key with a provider attestation and a proof of possession.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { canonicalPem, deviceKeyFingerprint, parseDevicePublicKey, tidFor, verifyProofOfPossession } from '@atoll/identity';
import type { ApiDeps, Config } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function registerRoute(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.post(
      '/v1/devices',
      {
        schema: {
          tags: ['devices'],
          summary: 'Register a device key (no bearer token: the attestation and the proof are the credentials)',
          security: [],
          body: Type.Object(
            {
              attestation: Type.String({ minLength: 1, maxLength: 4096 }),
              publicKey: Type.String({ minLength: 1, maxLength: 4096, description: 'PEM (SPKI) of an RSA-2048 public key' }),
              proof: Type.String({ minLength: 1, maxLength: 1024, description: 'base64url RSASSA-PKCS1-v1_5 SHA-256 signature of the attestation' }),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ deviceId: Uuid, tid: Type.String() }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { attestation, publicKey, proof } = request.body;
        const vouched = await deps.deviceTokens.verifyAttestation(attestation);
        const key = parseDevicePublicKey(publicKey);
        if (!verifyProofOfPossession({ key, message: attestation, signature: proof })) throw new AtollError('INVALID_PROOF');
        const deviceId = randomUUID();
        const tid = tidFor(config.ATOLL_TID_KEY, vouched.providerId, vouched.userId);
        try {
          await deps.pool.query(
            `INSERT INTO devices (id, provider_id, user_id, tid, public_key_pem, key_sha256, attestation_jti) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [deviceId, vouched.providerId, vouched.userId, tid, canonicalPem(key), deviceKeyFingerprint(key), vouched.jti],
          );
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === '23505') throw new AtollError('ATTESTATION_USED');
          if (code === '23503') throw new AtollError('INVALID_ATTESTATION', 'the provider of this attestation no longer exists');
          throw e;
        }
        request.log.info({ op: 'device.registered', deviceId, providerId: vouched.providerId }, 'device registered');
        return reply.status(201).send({ deviceId, tid });
      },
    );
  };
}
