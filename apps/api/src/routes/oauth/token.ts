// POST /v1/oauth/token: the JWT-bearer grant (RFC 7523) by which a device trades an assertion signed with its own key
// for a short-lived Atoll access token.
import type { KeyObject } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import { assertionIssuer, deviceScopes, parseDevicePublicKey, verifyDeviceAssertion, type DeviceScope } from '@atoll/identity';
import type { ApiDeps, Config } from '../../deps.js';
import { errorResponses } from '../../schemas.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function tokenEndpoint(config: Config): string {
  return `${config.ATOLL_API_URL}/v1/oauth/token`;
}

function requestedScopes(scope: string | undefined): DeviceScope[] {
  if (scope === undefined || scope.trim() === '') return [...deviceScopes];
  const asked = scope.trim().split(/\s+/);
  const unknown = asked.filter((s) => !(deviceScopes as string[]).includes(s));
  if (unknown.length > 0) throw new AtollError('BAD_REQUEST', `invalid_scope: ${unknown.join(' ').slice(0, 100)}; devices may ask for ${deviceScopes.join(', ')}`);
  return deviceScopes.filter((s) => asked.includes(s));
}

/** Parsed device keys by PEM: parsing costs more than the rest of a token request; devices refresh every few minutes. */
class DeviceKeyCache {
  private readonly keys = new Map<string, KeyObject>();
  constructor(private readonly max: number) {}
  get(pem: string): KeyObject {
    let key = this.keys.get(pem);
    if (key) {
      // Re-insert so the Map's insertion order doubles as recency order.
      this.keys.delete(pem);
    } else {
      key = parseDevicePublicKey(pem);
      if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value!);
    }
    this.keys.set(pem, key);
    return key;
  }
}

export function tokenRoute(config: Config, deps: ApiDeps): FastifyPluginAsync {
  const audience = tokenEndpoint(config);
  const deviceKeys = new DeviceKeyCache(10_000);
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    // OAuth token requests are form-encoded (RFC 6749 §4.1.3); the body is tiny, so URLSearchParams is all it takes.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.post(
      '/v1/oauth/token',
      {
        schema: {
          tags: ['devices'],
          summary: 'Exchange a device-signed JWT assertion (RFC 7523) for an Atoll access token',
          security: [],
          consumes: ['application/x-www-form-urlencoded'],
          body: Type.Object({
            grant_type: Type.String({ maxLength: 200 }),
            assertion: Type.Optional(Type.String({ maxLength: 8192 })),
            scope: Type.Optional(Type.String({ maxLength: 200 })),
          }),
          response: {
            200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer(), scope: Type.String() }),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { grant_type, assertion, scope } = request.body;
        if (grant_type !== JWT_BEARER) throw new AtollError('UNSUPPORTED_GRANT_TYPE', grant_type.slice(0, 100));
        if (!assertion) throw new AtollError('INVALID_GRANT', 'the assertion parameter is missing');
        const scopes = requestedScopes(scope);
        const deviceId = assertionIssuer(assertion);
        if (!uuidRe.test(deviceId)) throw new AtollError('INVALID_GRANT', 'the assertion names no known device');
        // Active devices come from memory when recent; an unknown or revoked one is read again to say which.
        const device = await deps.devices.active(deviceId);
        if (!device) {
          const known = await deps.pool.query('SELECT 1 FROM devices WHERE id = $1', [deviceId]);
          throw new AtollError('INVALID_GRANT', known.rows.length > 0 ? 'the device has been revoked' : 'the assertion names no known device');
        }
        const verified = await verifyDeviceAssertion({ assertion, key: deviceKeys.get(device.publicKeyPem), deviceId, audience });
        // Replay guard: the jti is remembered until the assertion could no longer be accepted anyway.
        const ttl = Math.max(1, verified.exp - Math.floor(Date.now() / 1000) + 10);
        const fresh = await deps.redis.set(`atoll:assertion-jti:${deviceId}:${verified.jti}`, '1', 'EX', ttl, 'NX');
        if (fresh !== 'OK') throw new AtollError('ASSERTION_REPLAYED');
        const issued = await deps.deviceTokens.issueAccessToken({ deviceId, tid: device.tid, providerId: device.providerId, scopes });
        request.log.info({ op: 'device.token.issued', deviceId, scopes }, 'device token issued');
        void reply.header('cache-control', 'no-store');
        return { access_token: issued.token, token_type: 'Bearer' as const, expires_in: issued.expiresIn, scope: scopes.join(' ') };
      },
    );
  };
}
