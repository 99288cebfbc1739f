// The public transparency log (SPEC §7): signed checkpoints, leaves, inclusion and consistency proofs, public keys.
// No authentication: anyone may audit the log.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AtollError } from '@atoll/errors';
import type { ApiDeps, Config } from '../../deps.js';
import { errorResponses, Uuid } from '../../schemas.js';
import { licensingFor } from '../licenses/licensing.js';

/** The most leaves one /v1/log/entries call returns. */
const MAX_ENTRIES = 1000;
const Index = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** Query parameters arrive as strings (the api does not coerce types): a decimal without leading zeros. */
const IndexParam = Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'a non-negative integer' });
const b64 = (hs: Buffer[]) => hs.map((h) => h.toString('base64'));
const PublicKey = Type.Object({
  id: Type.String(),
  ownerKind: Type.Union([Type.Literal('log'), Type.Literal('provider')]),
  providerId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  publicKey: Type.String({ description: 'base64 raw Ed25519 public key' }),
  createdAt: Type.String(),
  retiredAt: Type.Union([Type.String(), Type.Null()]),
});

export function logRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    const { log, keys } = licensingFor(config, deps);
    const public_ = { security: [] as Array<Record<string, string[]>> };

    app.get(
      '/v1/log/checkpoint',
      {
        schema: {
          ...public_,
          tags: ['log'],
          summary: 'The latest signed checkpoint (C2SP signed note, Ed25519): origin, tree size, base64 root hash',
          response: { 200: Type.String() },
        },
      },
      async (_request, reply) => {
        const { note } = await log.checkpoint();
        return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(note);
      },
    );

    app.get(
      '/v1/log/entries',
      {
        schema: {
          ...public_,
          tags: ['log'],
          summary: `Leaves [start, end) (at most ${MAX_ENTRIES}): base64 of each leaf's bytes, the canonical JSON of the entry`,
          querystring: Type.Object({ start: IndexParam, end: IndexParam }, { additionalProperties: false }),
          response: { 200: Type.Object({ entries: Type.Array(Type.Object({ index: Index, leaf: Type.String() })) }), ...errorResponses },
        },
      },
      async (request) => {
        const [start, end] = [Number(request.query.start), Number(request.query.end)];
        if (end <= start) throw new AtollError('BAD_REQUEST', 'end must be greater than start');
        const size = await log.size();
        if (start >= size) throw new AtollError('BAD_REQUEST', `start ${start} is beyond the log's size ${size}`);
        const rows = await log.entries(start, Math.min(end, size, start + MAX_ENTRIES));
        return { entries: rows.map((r) => ({ index: r.index, leaf: r.leaf.toString('base64') })) };
      },
    );

    app.get(
      '/v1/log/proofs/inclusion',
      {
        schema: {
          ...public_,
          tags: ['log'],
          summary: 'RFC 9162 inclusion proof of leaf `index` in the tree of `size`',
          querystring: Type.Object({ index: IndexParam, size: IndexParam }, { additionalProperties: false }),
          response: { 200: Type.Object({ index: Index, size: Index, hashes: Type.Array(Type.String()) }), ...errorResponses },
        },
      },
      async (request) => {
        const [index, size] = [Number(request.query.index), Number(request.query.size)];
        const current = await log.size();
        if (size < 1 || size > current) throw new AtollError('BAD_REQUEST', `size must be between 1 and the log's size ${current}`);
        if (index >= size) throw new AtollError('BAD_REQUEST', 'index must be smaller than size');
        return { index, size, hashes: b64(await log.inclusionProof(index, size)) };
      },
    );

    app.get(
      '/v1/log/proofs/consistency',
      {
        schema: {
          ...public_,
          tags: ['log'],
          summary: 'RFC 9162 consistency proof between tree sizes `from` and `to`',
          querystring: Type.Object({ from: IndexParam, to: IndexParam }, { additionalProperties: false }),
          response: { 200: Type.Object({ from: Index, to: Index, hashes: Type.Array(Type.String()) }), ...errorResponses },
        },
      },
      async (request) => {
        const [from, to] = [Number(request.query.from), Number(request.query.to)];
        const current = await log.size();
        if (from < 1 || from > to || to > current) throw new AtollError('BAD_REQUEST', `need 1 ≤ from ≤ to ≤ ${current}`);
        return { from, to, hashes: b64(await log.consistencyProof(from, to)) };
      },
    );

    app.get(
      '/v1/log/keys',
      {
        schema: {
          ...public_,
          tags: ['log'],
          summary: "Public keys: the log's checkpoint keys (with note verifier keys) and the providers' countersigning keys",
          querystring: Type.Object({ provider: Type.Optional(Uuid) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              origin: Type.String(),
              log: Type.Array(Type.Composite([PublicKey, Type.Object({ verifierKey: Type.String() })])),
              providers: Type.Array(PublicKey),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        // The log key is made on first use; publishing it before the first checkpoint lets verifiers pin it early.
        await keys.logKey();
        const published = await keys.publicKeys(request.query.provider ? { providerId: request.query.provider } : {});
        return { origin: log.origin, ...published };
      },
    );
  };
}
