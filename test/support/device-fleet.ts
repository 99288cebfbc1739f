// A fleet of licensed devices uploading through the public API, for the load test, the crash test and the load
// benchmark: enrol (attestation → register → license → token), upload unique records for a while counting what was
// acknowledged, then count what reached the raw and published tables.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { init, memoryStorage } from '@atoll/client';
import type { Pool } from '@atoll/db';
import { literal } from '@atoll/duck';
import { publishedTableId, rawTableId, type Lake } from '@atoll/lake';
import { AtollHttp, clientToken, waitUntil } from '@atoll/stack';
import { postText } from './http-post.js';
import { queryTable } from './lake-helpers.js';

export interface FleetProvider {
  id: string;
  http: AtollHttp;
  dataset: string;
}

/** A provider with an approved `events` table (user_id, kind, value) published as its own dataset. */
export async function fleetProvider(opts: { baseUrl: string; env: Record<string, string> }): Promise<FleetProvider> {
  const op = new AtollHttp(opts.baseUrl, await clientToken(opts.env, opts.env.ATOLL_OPERATOR_CLIENT_ID!, opts.env.ATOLL_OPERATOR_CLIENT_SECRET!));
  const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `fleet ${randomUUID().slice(0, 8)}` } });
  const http = new AtollHttp(opts.baseUrl, await clientToken(opts.env, p.clientId, p.clientSecret));
  const dataset = `fleet_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const s = await http.call<{ id: string }>('POST', '/v1/schemas', {
    body: { table: 'events', dataset, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'kind', type: 'string' }, { name: 'value', type: 'long' }] },
  });
  await op.call('POST', `/v1/schemas/${s.id}/approve`);
  return { id: p.id, http, dataset };
}

export interface FleetDevice {
  userId: string;
  deviceId: string;
  tid: string;
  token: string;
  licenseId: string;
}

/** `n` devices, one user each, each holding a license for `events` and an upload token; `parallel` enrol at once. */
export async function enrolFleet(opts: { baseUrl: string; provider: FleetProvider; devices: number; parallel?: number }): Promise<FleetDevice[]> {
  const out: FleetDevice[] = [];
  let next = 0;
  const terms = { sha256: 'f'.repeat(64) };
  await Promise.all(
    Array.from({ length: opts.parallel ?? 8 }, async () => {
      while (next < opts.devices) {
        const i = next++;
        const userId = `fleet-user-${i}-${randomUUID().slice(0, 8)}`;
        const { attestation } = await opts.provider.http.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId } });
        // Keys from node:crypto (native) rather than the client's own generator: enrolling hundreds must not take minutes.
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const client = init({
          baseUrl: opts.baseUrl,
          storage: memoryStorage({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
        });
        const device = await client.register(attestation);
        const license = await client.signLicense(
          await client.buildLicense({ tables: ['events'], uses: [{ usecases: ['analytics'], destinations: ['*'] }], terms, expiry: new Date(Date.now() + 86_400_000) }),
        );
        out.push({ userId, deviceId: device.deviceId, tid: device.tid, token: await client.token(['upload']), licenseId: license.id });
      }
    }),
  );
  return out;
}

export interface Acknowledged {
  uploadId: string;
  userId: string;
  /** The `value` of each record of the upload (unique per device). */
  values: number[];
}

export interface FleetRun {
  seconds: number;
  uploads: number;
  records: number;
  acknowledged: Acknowledged[];
  /** Every response other than 202 and every failed request, with what it said. */
  errors: string[];
  p50Ms: number;
  p99Ms: number;
}

/**
 * Every device uploads 1..`maxRecords` records per request, back to back, until `durationMs` has passed (or `stop()`
 * returns true). Each record's `value` is unique per device, so the tables can be checked record for record.
 */
export async function driveFleet(opts: { baseUrl: string; devices: FleetDevice[]; durationMs: number; maxRecords?: number; stop?: () => boolean; onAck?: (a: Acknowledged) => void }): Promise<FleetRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.devices.length + 8 });
  const url = `${opts.baseUrl}/v1/uploads/events`;
  const acknowledged: Acknowledged[] = [];
  const errors: string[] = [];
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const max = opts.maxRecords ?? 3;
  try {
    await Promise.all(
      opts.devices.map(async (d, i) => {
        let seq = 0;
        while (performance.now() < deadline && !opts.stop?.()) {
          const n = 1 + ((seq + i) % max);
          const values = Array.from({ length: n }, () => seq++);
          const body = values.map((v) => JSON.stringify({ kind: `fleet-${i}`, value: v })).join('\n') + '\n';
          const t = performance.now();
          try {
            const r = await postText(agent, url, { authorization: `Bearer ${d.token}`, 'content-type': 'application/x-ndjson' }, body);
            if (r.status !== 202) {
              errors.push(`HTTP ${r.status} ${r.body.slice(0, 200)}`);
              continue;
            }
            latencies.push(performance.now() - t);
            const ack = { uploadId: (JSON.parse(r.body) as { uploadId: string }).uploadId, userId: d.userId, values };
            acknowledged.push(ack);
            opts.onAck?.(ack);
          } catch (e) {
            errors.push(`request failed: ${(e as Error).message}`);
            if (opts.stop?.()) break;
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    seconds: (performance.now() - start) / 1000,
    uploads: acknowledged.length,
    records: acknowledged.reduce((s, a) => s + a.values.length, 0),
    acknowledged,
    errors,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/**
 * Waits until none of `uploadIds` (acknowledged uploads; all of the provider's when omitted) is pending; returns how
 * many of them were rejected, and why (a few).
 */
export async function settleUploads(pool: Pool, providerId: string, timeoutMs: number, uploadIds?: readonly string[]): Promise<{ rejected: number; reasons: string[] }> {
  const scope = uploadIds ? 'id = ANY($2::uuid[])' : 'true';
  const values = uploadIds ? [providerId, uploadIds] : [providerId];
  const count = async (status: string) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM uploads WHERE provider_id = $1 AND ${scope} AND status = '${status}'`, values)).rows[0]!.n);
  await waitUntil('the writer to take every upload', async () => ((await count('pending')) === 0 ? true : null), timeoutMs);
  const { rows } = await pool.query<{ reason: string | null }>(`SELECT reason FROM uploads WHERE provider_id = $1 AND ${scope} AND status = 'rejected' LIMIT 5`, values);
  return { rejected: await count('rejected'), reasons: rows.map((r) => r.reason ?? '') };
}

/** Records per user in the raw table and per TID in the published dataset. */
export async function tableCounts(opts: { lake: Lake; workDir: string; provider: FleetProvider }): Promise<{ raw: Map<string, number>; published: Map<string, number> }> {
  const raw = await queryTable<{ u: string; n: bigint }>(opts.lake, rawTableId(opts.provider.id, 'events'), opts.workDir, 'SELECT user_id AS u, count(*) AS n FROM rows GROUP BY 1');
  const published = (await opts.lake.tryLoad(publishedTableId(opts.provider.dataset)))
    ? await queryTable<{ u: string; n: bigint }>(opts.lake, publishedTableId(opts.provider.dataset), opts.workDir, 'SELECT tid AS u, count(*) AS n FROM rows GROUP BY 1')
    : [];
  return { raw: new Map(raw.map((r) => [r.u, Number(r.n)])), published: new Map(published.map((r) => [r.u, Number(r.n)])) };
}

/** The `value`s of one user's rows in the raw table. */
export async function rawValues(opts: { lake: Lake; workDir: string; provider: FleetProvider; userId: string }): Promise<Set<number>> {
  const rows = await queryTable<{ value: bigint }>(opts.lake, rawTableId(opts.provider.id, 'events'), opts.workDir, `SELECT value FROM rows WHERE user_id = ${literal(opts.userId)}`);
  return new Set(rows.map((r) => Number(r.value)));
}

/** Acknowledged records per user. */
export function acknowledgedPerUser(acks: readonly Acknowledged[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of acks) m.set(a.userId, (m.get(a.userId) ?? 0) + a.values.length);
  return m;
}
