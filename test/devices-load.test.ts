// A bounded load test of the device upload path (the 200 devices × 60 s version is `BENCH_ONLY=load npm run bench`):
// 50 licensed devices upload for 10 s through the in-process api against the real stack; no request may fail, and
// every acknowledged record must reach the raw table and the published dataset, exactly once. No timing is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@atoll/stack';
import { lakeFixture } from './support/lake-helpers.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env } from './support/actors.js';
import { acknowledgedPerUser, driveFleet, enrolFleet, fleetProvider, settleUploads, tableCounts } from './support/device-fleet.js';

const DEVICES = Number(process.env.LOAD_TEST_DEVICES ?? 50);
const SECONDS = Number(process.env.LOAD_TEST_SECONDS ?? 10);

let api: InProcessApi;
beforeAll(async () => {
  api = await startInProcessApi();
});
afterAll(async () => {
  await api?.[Symbol.asyncDispose]();
});

describe('device uploads under load', () => {
  it(`${DEVICES} devices for ${SECONDS} s: zero errors, every acknowledged record in the raw and published tables once`, async () => {
    const provider = await fleetProvider({ baseUrl: api.url, env });
    const devices = await enrolFleet({ baseUrl: api.url, provider, devices: DEVICES });
    const run = await driveFleet({ baseUrl: api.url, devices, durationMs: SECONDS * 1000 });
    console.log(`load: ${DEVICES} devices, ${run.uploads} uploads, ${run.records} records in ${run.seconds.toFixed(1)} s, p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms`);
    expect(run.errors).toEqual([]);
    expect(new Set(run.acknowledged.map((a) => a.uploadId)).size).toBe(run.uploads);

    expect(await settleUploads(api.deps.pool, provider.id, 300_000)).toEqual({ rejected: 0, reasons: [] });
    const expected = acknowledgedPerUser(run.acknowledged);
    const tidOf = new Map(devices.map((d) => [d.userId, d.tid]));
    const expectedPublished = new Map([...expected].map(([u, n]) => [tidOf.get(u)!, n]));
    await using fx = await lakeFixture({ poolSize: 2 });
    // Prepare (raw → published) follows each raw commit; wait until the published dataset has caught up.
    const counts = await waitUntil(
      'the published dataset to hold every record',
      async () => {
        const c = await tableCounts({ lake: fx.lake, workDir: fx.workDir, provider });
        const published = [...c.published.values()].reduce((s, n) => s + n, 0);
        return published >= run.records ? c : null;
      },
      300_000,
    );
    expect(counts.raw).toEqual(expected);
    expect(counts.published).toEqual(expectedPublished);
    // Enrolment, the run and the writer's drain take minutes on a loaded 2-core machine.
  }, 900_000);
});
