// The device upload fast path against the real stack: cached license and device lookups still refuse within one
// second of a revocation (on the replica that revoked and on another one), and group-committed uploads are durable
// when acknowledged — an api killed with SIGKILL mid-stream loses none of the records it answered 202 for.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollHttp } from '@atoll/stack';
import { lakeFixture } from './support/lake-helpers.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env } from './support/actors.js';
import { expectCode } from './support/devices.js';
import { driveFleet, enrolFleet, fleetProvider, rawValues, settleUploads, type FleetProvider } from './support/device-fleet.js';

let api: InProcessApi;
let replica: InProcessApi;
let provider: FleetProvider;

const upload = (baseUrl: string, token: string) =>
  new AtollHttp(baseUrl, token).raw('POST', '/v1/uploads/events', { rawBody: '{"kind":"probe","value":1}\n', contentType: 'application/x-ndjson' });

/** Sends uploads back to back until one is refused; returns it and how long after `t0` it came back. */
async function untilRefused(baseUrl: string, token: string, t0: number): Promise<{ status: number; body: unknown; ms: number }> {
  for (;;) {
    const r = await upload(baseUrl, token);
    if (r.status !== 202) return { ...r, ms: performance.now() - t0 };
    if (performance.now() - t0 > 5_000) throw new Error('uploads still accepted 5 s after the revocation');
  }
}

beforeAll(async () => {
  [api, replica] = await Promise.all([startInProcessApi({}, { waitForChangeFeed: true }), startInProcessApi({}, { waitForChangeFeed: true })]);
  provider = await fleetProvider({ baseUrl: api.url, env });
});
afterAll(async () => {
  await replica?.[Symbol.asyncDispose]();
  await api?.[Symbol.asyncDispose]();
});

describe('cached lookups', () => {
  it('refuse uploads within one second of a license revocation, on the revoking replica and on another', async () => {
    const [d] = await enrolFleet({ baseUrl: api.url, provider, devices: 1 });
    // Both replicas have answered yes a moment ago: their caches hold the license.
    for (const a of [api, replica]) expect((await upload(a.url, d!.token)).status).toBe(202);
    expect((await upload(replica.url, d!.token)).status).toBe(202);
    const t0 = performance.now();
    const revoke = await provider.http.raw('DELETE', `/v1/licenses/${d!.licenseId}`);
    expect(revoke.status).toBe(200);
    const [here, there] = await Promise.all([untilRefused(api.url, d!.token, t0), untilRefused(replica.url, d!.token, t0)]);
    console.log(`license revocation: refused ${here.ms.toFixed(1)} ms (revoking replica) and ${there.ms.toFixed(1)} ms (other replica) after the DELETE was sent`);
    for (const r of [here, there]) {
      expectCode(r, 403, 'LICENSE_REQUIRED');
      expect(r.ms).toBeLessThan(1000);
    }
    // And it stays refused: no cache brings the license back.
    for (let i = 0; i < 5; i++) for (const a of [api, replica]) expectCode(await upload(a.url, d!.token), 403, 'LICENSE_REQUIRED');
  });

  it('refuse a revoked device’s live token within one second on both replicas, and its next token', async () => {
    const [d] = await enrolFleet({ baseUrl: api.url, provider, devices: 1 });
    for (const a of [api, replica]) expect((await upload(a.url, d!.token)).status).toBe(202);
    const t0 = performance.now();
    expect((await provider.http.raw('DELETE', `/v1/devices/${d!.deviceId}`)).status).toBe(204);
    const [here, there] = await Promise.all([untilRefused(api.url, d!.token, t0), untilRefused(replica.url, d!.token, t0)]);
    console.log(`device revocation: refused ${here.ms.toFixed(1)} / ${there.ms.toFixed(1)} ms after the DELETE was sent`);
    for (const r of [here, there]) {
      expectCode(r, 401, 'DEVICE_REVOKED');
      expect(r.ms).toBeLessThan(1000);
    }
  });
});

describe('group commit', () => {
  it('loses no acknowledged record when the api is killed (SIGKILL) in the middle of a stream of uploads', async () => {
    const devices = await enrolFleet({ baseUrl: api.url, provider, devices: 16 });
    const script = fileURLToPath(new URL('./support/crash-api.ts', import.meta.url));
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /LISTENING (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`api exited ${code} before listening: ${stderr}`)));
    });
    let killedAt = 0;
    let acks = 0;
    let acksAtKill = 0;
    const delayMs = 1 + Math.floor(Math.random() * 40);
    // Once uploads flow steadily (a few hundred acknowledged), kill at an arbitrary moment a few milliseconds later:
    // batches are then being received, written and answered; requests after the kill fail (not acknowledged).
    const run = await driveFleet({
      baseUrl: url,
      devices,
      durationMs: 60_000,
      stop: () => killedAt > 0,
      onAck: () => {
        if (++acks === 300)
          setTimeout(() => {
            child.kill('SIGKILL');
            killedAt = performance.now();
            acksAtKill = acks;
          }, delayMs);
      },
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    expect(child.signalCode).toBe('SIGKILL');
    expect(run.uploads).toBeGreaterThanOrEqual(300);
    // The requests in flight at the kill failed (not acknowledged); nothing else did.
    expect(run.errors.every((e) => e.startsWith('request failed'))).toBe(true);
    console.log(`crash: SIGKILL ${delayMs} ms after the 300th acknowledgement; ${acksAtKill} uploads (${run.records} records) acknowledged before it, ${run.errors.length} requests in flight failed`);
    // Answers the api wrote before it died can still be read after kill() returned (they were in the socket buffers):
    // they are acknowledgements like the others, and every one of them is checked below.
    expect(run.uploads).toBeGreaterThanOrEqual(acksAtKill);

    // Every acknowledged upload is recorded and loads; every acknowledged record is in the raw table.
    const ids = run.acknowledged.map((a) => a.uploadId);
    const recorded = await api.deps.pool.query<{ id: string }>('SELECT id FROM uploads WHERE id = ANY($1::uuid[])', [ids]);
    expect(recorded.rows.length).toBe(ids.length);
    const settled = await settleUploads(api.deps.pool, provider.id, 240_000, ids);
    expect(settled).toEqual({ rejected: 0, reasons: [] });
    await using fx = await lakeFixture({ poolSize: 2 });
    const missing: string[] = [];
    for (const d of devices) {
      const have = await rawValues({ lake: fx.lake, workDir: fx.workDir, provider, userId: d.userId });
      for (const a of run.acknowledged.filter((x) => x.userId === d.userId)) for (const v of a.values) if (!have.has(v)) missing.push(`${d.userId}:${v}`);
    }
    expect(missing).toEqual([]);
  }, 600_000);
});
