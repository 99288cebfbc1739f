// DELETE /v1/devices/{id}: the provider, or another device of the same user, revokes a device; its live tokens fail
// within a second because every device-token request consults the device directory, which Postgres's change notice
// clears on every replica (and which trusts nothing older than a second).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import type { Principal } from '@atoll/identity';
import { bearerToken, requireRole, verifyDeviceToken } from '../../auth.js';
import type { ApiDeps } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';

export function revokeRoute(deps: ApiDeps): FastifyPluginAsync {
  const providerOnly = requireRole(deps, 'provider');
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.delete(
      '/v1/devices/:id',
      {
        // Any live device token of the user may revoke (a lost phone is revoked from the new one), whatever its scope.
        onRequest: async (request: FastifyRequest, reply) => {
          const token = bearerToken(request);
          if (deps.deviceTokens.isOwnToken(token)) request.principal = await verifyDeviceToken(deps, token);
          else await providerOnly.call(request.server, request, reply);
        },
        schema: {
          tags: ['devices'],
          summary: 'Revoke a device (by its provider, or by another device of the same user)',
          params: Type.Object({ id: Uuid }),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        const principal = request.principal as Principal;
        const { rows } = await deps.pool.query<{ provider_id: string; tid: string; revoked_at: Date | null }>(
          'SELECT provider_id, tid, revoked_at FROM devices WHERE id = $1',
          [request.params.id],
        );
        const device = rows[0];
        const allowed =
          device !== undefined &&
          (principal.kind === 'client' ? device.provider_id === principal.orgId : device.provider_id === principal.providerId && device.tid === principal.tid);
        // Someone else's device is indistinguishable from no device.
        if (!device || !allowed) throw new AtollError('NOT_FOUND', 'no such device');
        if (!device.revoked_at) {
          const by = principal.kind === 'client' ? `provider:${principal.orgId}` : `device:${principal.deviceId}`;
          // Listen for the notice before the change commits, then answer once Postgres has sent it out: it reaches
          // the other replicas' listeners together with ours, so the caller's next request is refused everywhere.
          const sent = deps.changes.waitFor(`device:${request.params.id}`, 500);
          await deps.pool.query('UPDATE devices SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL', [request.params.id, by]);
          await sent;
        }
        // This replica need not wait for its own notice.
        deps.devices.forget(request.params.id);
        request.log.info({ op: 'device.revoked', deviceId: request.params.id, by: principal.kind }, 'device revoked');
        return reply.status(204).send(null);
      },
    );
  };
}
