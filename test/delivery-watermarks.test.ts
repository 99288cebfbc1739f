// Incremental runs and lake maintenance: the writer's snapshot expiry keeps every published snapshot a subscription
// still reads from (its watermark), however aggressive the table's settings; and when a watermark is gone anyway (an
// expiry run by hand), the next run falls back to a full diff — never missing or duplicated rows.
import { describe, expect, it } from 'vitest';
import { expireSnapshots } from '@atoll/iceberg';
import { publishedTableId } from '@atoll/lake';
import { createLogger } from '@atoll/log';
import { Producer, redisConnection } from '@atoll/queue';
import { readCleanroomTable, type CleanroomKey } from '@atoll/stack';
import { lakeMaintenanceTasks, runMaintenance } from '@atoll/writer';
import { env, newConsumer, newProvider, operator, uniq } from './support/actors.js';
import { lakeFixture } from './support/lake-helpers.js';
import { approveAgreement, delegate, nextRun, runNow, tidsOf, upload, waitPublished } from './support/market.js';

describe('watermarks', () => {
  it('maintenance keeps the snapshot a subscription reads from; a lost one falls back to a full diff', async () => {
    await using fx = await lakeFixture({ poolSize: 4 });
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis, `atoll-watermarks-${uniq()}`);
    try {
      const op = await operator();
      const provider = await newProvider(op);
      const consumer = await newConsumer(op);
      const dataset = `wm_${uniq()}`;
      const s = await provider.http.call<{ id: string }>('POST', '/v1/schemas', {
        body: { table: 'events', dataset, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'kind', type: 'string' }, { name: 'value', type: 'long' }] },
      });
      await op.call('POST', `/v1/schemas/${s.id}/approve`);
      await op.call('PUT', `/v1/datasets/${dataset}/price`, { body: { perRecord: { amount: 0.01, currency: 'usd' } } });
      await approveAgreement(op, provider);
      const users = Array.from({ length: 26 }, (_, i) => `w${i}`);
      const tid = await tidsOf(provider, users);
      await delegate(provider, Object.values(tid), ['events'], [{ usecases: ['analytics'], destinations: ['*'] }]);

      const rows: Array<{ user: string; kind: string; value: number }> = [];
      const batch = async (kind: string) => {
        const fresh = users.map((u, i) => ({ user: u, kind, value: i }));
        rows.push(...fresh);
        await upload(provider, 'events', fresh.map((r) => ({ user_id: r.user, kind: r.kind, value: r.value })));
        await waitPublished(consumer.http, dataset, rows.length);
      };
      const expected = () => rows.map((r) => `${tid[r.user]}|${r.kind}|${r.value}`).sort();
      await batch('one');
      const room = await consumer.http.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: 'wm' } });
      const table = () => readCleanroomTable(room, 'events').then((rs) => rs.map((r) => `${String(r.tid)}|${String(r.kind)}|${String(r.value)}`).sort());
      const est = await consumer.http.call<{ id: string }>('POST', '/v1/estimates', { body: { cleanroomId: room.id, table: 'events', sql: `SELECT tid, kind, value FROM ${dataset}` } });
      const sub = await consumer.http.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: est.id } });
      await nextRun(consumer.http, sub.id, 0);
      await batch('two');
      expect(await runNow(consumer.http, sub.id)).toMatchObject({ status: 'succeeded', recordsAdded: users.length });
      await batch('three');

      // The most aggressive settings a table can have: keep one snapshot, nothing is young.
      const id = publishedTableId(dataset);
      await fx.pool.query(
        `INSERT INTO table_maintenance (namespace, name, expire_keep_last, expire_older_than_ms) VALUES ('published', $1, 1, 0)
         ON CONFLICT (namespace, name) DO UPDATE SET expire_keep_last = 1, expire_older_than_ms = 0`,
        [dataset],
      );
      const before = (await fx.lake.tryLoad(id))!.metadata.snapshots.length;
      const { rows: marks } = await fx.pool.query<{ snap: string }>(
        `SELECT r.source_snapshots ->> $2 AS snap FROM subscriptions s JOIN subscription_runs r ON r.id = s.state_run_id WHERE s.id = $1`,
        [sub.id, dataset],
      );
      const watermark = marks[0]!.snap;
      const ctx = { pool: fx.pool, lake: fx.lake, producer, log: createLogger({ name: 'watermarks-test', level: 'warn' }), workDir: fx.workDir, memoryLimit: '256MB', tasks: lakeMaintenanceTasks };
      const report = await runMaintenance(ctx, id);
      const after = (await fx.lake.tryLoad(id))!.metadata.snapshots.map((x) => String(x['snapshot-id']));
      expect(before).toBeGreaterThan(2);
      expect(after).toContain(watermark);
      // It did expire (the settings bite), just not the watermark or anything after it.
      expect((report.expiry as { expiredSnapshots: number }).expiredSnapshots).toBeGreaterThan(0);
      // Incremental as before: only the third batch arrives.
      expect(await runNow(consumer.http, sub.id)).toMatchObject({ status: 'succeeded', recordsAdded: users.length, recordsRemoved: 0 });
      expect(await table()).toEqual(expected());

      // An expiry that ignores watermarks (by hand): the next run cannot plan changes and diffs in full instead.
      await batch('four');
      await expireSnapshots({ io: fx.lake.io, catalog: fx.lake.catalog, id, retainLast: 1 });
      expect((await fx.lake.tryLoad(id))!.metadata.snapshots).toHaveLength(1);
      expect(await runNow(consumer.http, sub.id)).toMatchObject({ status: 'succeeded', recordsAdded: users.length, recordsRemoved: 0 });
      expect(await table()).toEqual(expected());
      // And the run after that is incremental again.
      await batch('five');
      expect(await runNow(consumer.http, sub.id)).toMatchObject({ status: 'succeeded', recordsAdded: users.length, recordsRemoved: 0 });
      expect(await table()).toEqual(expected());
    } finally {
      await producer.close();
      redis.disconnect();
    }
  }, 600_000);
});
