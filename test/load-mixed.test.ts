// A bounded mixed-load test (the 200 devices × 60 s version is `BENCH_ONLY=load npm run bench`): licensed devices
// upload through the stack's api while the provider puts bulk CSVs with its bulk key; then a consumer estimates,
// subscribes and runs. No request may fail, every row must be in the raw and published tables exactly once, every run
// must succeed and the cleanroom must hold exactly the licensed published rows. No timing is asserted.
import { describe, expect, it } from 'vitest';
import { waitUntil } from '@atoll/stack';
import { env } from './support/actors.js';
import { lakeFixture } from './support/lake-helpers.js';
import { buyAndRun, driveFleet, enrolFleet, expectedPerUser, feedBulkFiles, fleetProvider, settleUploads, tableCounts, waitBulkRecorded } from './support/device-fleet.js';

// 25 subjects: the cohort minimum, so the estimate and the runs are not withheld.
const DEVICES = Number(process.env.LOAD_MIXED_DEVICES ?? 25);
const SECONDS = Number(process.env.LOAD_MIXED_SECONDS ?? 6);

describe('mixed load: devices and bulk files, then estimates and runs', () => {
  it(`${DEVICES} devices for ${SECONDS} s beside bulk files: zero errors, every row once in raw, published and the cleanroom`, async () => {
    const api = env.ATOLL_API_URL!;
    const provider = await fleetProvider({ baseUrl: api, env });
    const devices = await enrolFleet({ baseUrl: api, provider, devices: DEVICES });
    let uploading = true;
    const bulkDone = feedBulkFiles({ provider, devices, everyMs: 2000, rows: 50, stop: () => !uploading });
    const run = await driveFleet({ baseUrl: api, devices, durationMs: SECONDS * 1000 }).finally(() => (uploading = false));
    const bulk = await bulkDone;
    expect(run.errors).toEqual([]);
    expect(bulk.errors).toEqual([]);
    expect(bulk.files.length).toBeGreaterThanOrEqual(2);

    await using fx = await lakeFixture({ poolSize: 2 });
    await waitBulkRecorded(fx.pool, provider.id, bulk.files.length, 300_000);
    expect(await settleUploads(fx.pool, provider.id, 300_000)).toEqual({ rejected: 0, reasons: [] });
    const expected = expectedPerUser(run.acknowledged, bulk.files);
    const total = [...expected.values()].reduce((s, n) => s + n, 0);
    expect(total).toBe(run.records + bulk.files.length * 50);
    const tidOf = new Map(devices.map((d) => [d.userId, d.tid]));
    const expectedPublished = new Map([...expected].map(([u, n]) => [tidOf.get(u)!, n]));
    const counts = await waitUntil(
      'the published dataset to hold every row',
      async () => {
        const c = await tableCounts({ lake: fx.lake, workDir: fx.workDir, provider });
        return [...c.published.values()].reduce((s, n) => s + n, 0) >= total ? c : null;
      },
      300_000,
    );
    expect(counts.raw).toEqual(expected);
    expect(counts.published).toEqual(expectedPublished);

    const consumer = await buyAndRun({ env, provider, estimates: 3, runs: 2, expectRecords: total, expectSubjects: DEVICES });
    expect(consumer.errors).toEqual([]);
    expect(consumer.estimateMs).toHaveLength(3);
    expect(consumer.runMs).toHaveLength(2);
    expect(consumer.delivered).toEqual(expectedPublished);
  }, 600_000);
});
