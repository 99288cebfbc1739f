// Metered billing against the real stack (issue 10): subscription runs write the usage and payout ledgers exactly
// once; the cleanroom worker's reconciler sends each entry to Stripe (stripe-mock) as a meter event whose identifier
// is the entry id; with Stripe down deliveries go on and the reconciler catches up; the month closes into Stripe
// invoices; charges = payouts + platform share to the cent over several providers, datasets and consumers; webhooks
// are verified; bad input gets a clear 4xx.
//
// What reached Stripe is observed on the wire: the test takes over stripe-mock's port with a recording proxy in front
// of its own stripe-mock, so the stack's worker talks to Stripe exactly as configured. "Stripe down" closes the proxy.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingJobs, monthOf, previousMonth, recordRunUsage, toMicros } from '@atoll/billing';
import { createPool } from '@atoll/db';
import { Producer, redisConnection } from '@atoll/queue';
import { cacheDir, clientToken, paths, readCleanroomTable, repoRoot, up, versions, waitUntil, type CleanroomKey } from '@atoll/stack';
import { api, env, newConsumer, newProvider, operator, uniq } from './support/actors.js';
import { approveAgreement, delegate, tidsOf, upload, type Http, type Provider } from './support/market.js';
import { steppedUpOperator } from './support/step-up.js';

interface Recorded {
  method: string;
  path: string;
  form: URLSearchParams;
}

// ---- a recording proxy on stripe-mock's port ----------------------------------------------------------------------

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

class StripeRecorder {
  readonly requests: Recorded[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly port: number, private readonly target: number) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.requests.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, form: new URLSearchParams(body.toString()) });
        const out = httpRequest({ host: '127.0.0.1', port: this.target, method: req.method, path: req.url, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        out.on('error', () => res.destroy());
        out.end(body);
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stripe unreachable: the port refuses connections until start() again. */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    const closed = new Promise((r) => s.close(r));
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }

  meterEvents(): Array<{ identifier: string; event: string; customer: string; value: string }> {
    return this.requests
      .filter((r) => r.method === 'POST' && r.path === '/v1/billing/meter_events')
      .map((r) => ({ identifier: r.form.get('identifier')!, event: r.form.get('event_name')!, customer: r.form.get('payload[stripe_customer_id]')!, value: r.form.get('payload[value]')! }));
  }
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

// ---- data set-up, as in delivery.test.ts ----------------------------------------------------------------------------

async function license(provider: Provider, tids: string[], tables: string[]): Promise<void> {
  await delegate(provider, tids, tables, [{ usecases: ['analytics'], destinations: ['*'] }]);
}

async function waitPublished(consumer: Http, dataset: string, records: number): Promise<void> {
  await waitUntil(`${dataset} to hold ${records} records`, async () => {
    const { datasets } = await consumer.call<{ datasets: Array<{ name: string; records: number }> }>('GET', '/v1/datasets');
    return datasets.find((d) => d.name === dataset && d.records === records);
  }, 180_000);
}

interface RunView {
  id: string;
  status: string;
  recordsAdded: number | null;
  error: string | null;
}

async function finishedRuns(consumer: Http, subscriptionId: string): Promise<RunView[]> {
  return (await consumer.call<{ runs: RunView[] }>('GET', `/v1/subscriptions/${subscriptionId}`)).runs.filter((r) => r.status !== 'running');
}

async function nextRun(consumer: Http, subscriptionId: string, before: number): Promise<RunView> {
  return waitUntil('the subscription run', async () => {
    const done = await finishedRuns(consumer, subscriptionId);
    if (done.length <= before) return null;
    if (done[0]!.status === 'failed') throw new Error(`run failed: ${done[0]!.error}`);
    return done[0]!;
  }, 180_000);
}

async function runNow(consumer: Http, subscriptionId: string): Promise<RunView> {
  const before = (await finishedRuns(consumer, subscriptionId)).length;
  await consumer.call('POST', `/v1/subscriptions/${subscriptionId}/run`);
  return nextRun(consumer, subscriptionId, before);
}

async function subscribe(consumer: { http: Http }, room: string, table: string, sql: string): Promise<{ id: string; run: RunView }> {
  const est = await consumer.http.call<{ id: string }>('POST', '/v1/estimates', { body: { cleanroomId: room, table, sql } });
  const sub = await consumer.http.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: est.id } });
  return { id: sub.id, run: await nextRun(consumer.http, sub.id, 0) };
}

// ---- exact money in the test: millionths as bigint ----------------------------------------------------------------

const M = (s: string) => toMicros(s);
const PRICE = { events: M('0.02'), visits: M('0.035'), clicks: M('0.013') };
const SHARE = { p1: '0.6', p2: '0.85' };
/** A share applied to millionths; every figure in this test is a whole number of millionths. */
const part = (micros: bigint, share: string) => {
  const [i, f = ''] = share.split('.');
  const scaled = micros * BigInt(i! + f.padEnd(4, '0'));
  expect(scaled % 10_000n).toBe(0n);
  return scaled / 10_000n;
};

interface Usage {
  month: string;
  subscriptions?: Array<{ subscriptionId: string; records: number; amount: string; currency: string }>;
  totals?: Array<{ currency: string; amount: string; records: number }>;
  invoices?: Array<{ consumerId: string; invoiceId: string; currency: string; amount: string; status: string }>;
  datasets?: Array<{ dataset: string; records: number; gross: string; revenue: string }>;
  balance?: Array<{ currency: string; charges: string; payouts: string; platform: string }>;
}

// ---- the world ------------------------------------------------------------------------------------------------------

const month = monthOf(new Date());
const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'billing-test' });
const stripePort = Number(new URL(env.ATOLL_STRIPE_API_BASE!).port);
let ownStripe: ChildProcess | null = null;
let recorder: StripeRecorder;

let op: Http;
let p1: Provider & { events: string; visits: string };
let p2: Provider & { clicks: string };
let x: { id: string; http: Http };
let y: { id: string; http: Http };
const p1Users = Array.from({ length: 26 }, (_, i) => `m-${String(i).padStart(2, '0')}`);
const p2Users = Array.from({ length: 25 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
let tid1: Record<string, string>;
let tid2: Record<string, string>;
const subs: Record<'xEvents' | 'xClicks' | 'yJoin', string> = { xEvents: '', xClicks: '', yJoin: '' };

async function ledger(subscriptionIds: string[]): Promise<Array<{ id: string; run_id: string; dataset: string; records: string; amount: string; metered_at: Date | null }>> {
  const { rows } = await pool.query<{ id: string; run_id: string; dataset: string; records: string; amount: string; metered_at: Date | null }>(
    'SELECT id, run_id, dataset, records, amount::text AS amount, metered_at FROM usage_ledger WHERE subscription_id = ANY($1::uuid[]) ORDER BY created_at',
    [subscriptionIds],
  );
  return rows;
}

beforeAll(async () => {
  // Stripe through the recorder: stop the stack's stripe-mock, serve its port from a proxy to our own stripe-mock.
  const pidRec = JSON.parse(readFileSync(join(paths.pidDir, 'stripe-mock.pid.json'), 'utf8')) as { pid: number };
  try {
    process.kill(-pidRec.pid, 'SIGTERM');
  } catch {
    process.kill(pidRec.pid, 'SIGTERM');
  }
  await waitUntil('the stack stripe-mock to stop', async () => !(await portOpen(stripePort)), 20_000);
  const [own, ownHttps] = [await freePort(), await freePort()];
  ownStripe = spawn(join(cacheDir, 'bin', `stripe-mock-${versions.stripeMock}`, 'stripe-mock'), ['-http-addr', `127.0.0.1:${own}`, '-https-addr', `127.0.0.1:${ownHttps}`], { stdio: 'ignore' });
  await waitUntil('our stripe-mock', () => portOpen(own), 30_000);
  recorder = new StripeRecorder(stripePort, own);
  await recorder.start();

  op = await operator();
  const prov1 = await newProvider(op);
  const prov2 = await newProvider(op);
  p1 = { ...prov1, events: `bevents_${uniq()}`, visits: `bvisits_${uniq()}` };
  p2 = { ...prov2, clicks: `bclicks_${uniq()}` };
  const tables: Array<[Provider, string, string, Array<{ name: string; type: string }>, string]> = [
    [p1, 'events', p1.events, [{ name: 'kind', type: 'string' }, { name: 'value', type: 'long' }], '0.02'],
    [p1, 'visits', p1.visits, [{ name: 'page', type: 'string' }], '0.035'],
    [p2, 'clicks', p2.clicks, [{ name: 'ad', type: 'string' }], '0.013'],
  ];
  for (const [prov, table, dataset, cols, price] of tables) {
    const s = await prov.http.call<{ id: string }>('POST', '/v1/schemas', { body: { table, dataset, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, ...cols] } });
    await op.call('POST', `/v1/schemas/${s.id}/approve`);
    await op.call('PUT', `/v1/datasets/${dataset}/price`, { body: { perRecord: { amount: Number(price), currency: 'usd' } } });
  }
  {
    // Revenue shares are payment settings: an operator person with a fresh one-time code sets them (test/step-up.test.ts).
    await using payments = await steppedUpOperator();
    await payments.call('PUT', `/v1/providers/${p1.id}/revenue-share`, { body: { share: Number(SHARE.p1) } });
    await payments.call('PUT', `/v1/providers/${p2.id}/revenue-share`, { body: { share: Number(SHARE.p2) } });
  }
  await approveAgreement(op, p1);
  await approveAgreement(op, p2);
  tid1 = await tidsOf(p1, p1Users);
  tid2 = await tidsOf(p2, p2Users);
  await license(p1, p1Users.map((u) => tid1[u]!), ['events', 'visits']);
  await license(p2, p2Users.map((u) => tid2[u]!), ['clicks']);
  await upload(p1, 'events', p1Users.flatMap((u) => [{ user_id: u, kind: 'view', value: 1 }, { user_id: u, kind: 'buy', value: 5 }]));
  await upload(p1, 'visits', p1Users.map((u) => ({ user_id: u, page: `/p/${u}` })));
  await upload(p2, 'clicks', p2Users.map((u) => ({ user_id: u, ad: 'banner' })));
  x = await newConsumer(op);
  y = await newConsumer(op);
  await waitPublished(x.http, p1.events, 52);
  await waitPublished(x.http, p1.visits, 26);
  await waitPublished(x.http, p2.clicks, 25);
}, 600_000);

afterAll(async () => {
  await recorder?.stop();
  ownStripe?.kill('SIGTERM');
  await pool.end();
  // Give the stack its own stripe-mock back (the other services are healthy and left alone).
  await up({ apps: false, say: () => undefined });
}, 300_000);

describe('metered billing', () => {
  it('charges initial and incremental runs exactly, per subscription and dataset, at the quoted price', async () => {
    const roomX = await x.http.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: 'billing-x' } });
    const roomY = await y.http.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: 'billing-y' } });
    const a = await subscribe(x, roomX.id, 'events', `SELECT tid, kind, value FROM ${p1.events}`);
    expect(a.run).toMatchObject({ status: 'succeeded', recordsAdded: 52 });
    subs.xEvents = a.id;
    const c = await subscribe(x, roomX.id, 'clicks', `SELECT tid, ad FROM ${p2.clicks}`);
    expect(c.run).toMatchObject({ status: 'succeeded', recordsAdded: 25 });
    subs.xClicks = c.id;
    const j = await subscribe(y, roomY.id, 'joined', `SELECT e.tid, e.value, v.page FROM ${p1.events} e JOIN ${p1.visits} v ON e.tid = v.tid WHERE e.kind = 'buy'`);
    expect(j.run).toMatchObject({ status: 'succeeded', recordsAdded: 26 });
    subs.yJoin = j.id;

    // Incremental: three new events for two subjects; the next run charges exactly those three.
    await upload(p1, 'events', [
      { user_id: p1Users[0], kind: 'refund', value: 7 },
      { user_id: p1Users[0], kind: 'refund', value: 8 },
      { user_id: p1Users[1], kind: 'refund', value: 9 },
    ]);
    await waitPublished(x.http, p1.events, 55);
    expect(await runNow(x.http, subs.xEvents)).toMatchObject({ status: 'succeeded', recordsAdded: 3 });
    // A run that adds nothing charges nothing.
    expect(await runNow(x.http, subs.xClicks)).toMatchObject({ status: 'succeeded', recordsAdded: 0 });

    const usage = await x.http.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
    const bySub = Object.fromEntries((usage.subscriptions ?? []).map((s) => [s.subscriptionId, s]));
    expect(Object.keys(bySub).sort()).toEqual([subs.xEvents, subs.xClicks].sort());
    expect(bySub[subs.xEvents]).toMatchObject({ records: 55, amount: '1.1', currency: 'usd' }); // 55 × 0.02
    expect(bySub[subs.xClicks]).toMatchObject({ records: 25, amount: '0.325', currency: 'usd' }); // 25 × 0.013
    expect(usage.totals).toEqual([{ currency: 'usd', amount: '1.425', records: 80 }]);
    expect(usage.datasets).toBeUndefined();

    // The join reads two datasets: each record is charged both prices (0.02 + 0.035), one ledger entry per dataset.
    const usageY = await y.http.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
    expect(usageY.subscriptions).toEqual([expect.objectContaining({ subscriptionId: subs.yJoin, records: 26, amount: '1.43' })]);
    const entries = await ledger([subs.yJoin]);
    expect(entries.map((e) => [e.dataset, Number(e.records), e.amount]).sort()).toEqual(
      [
        [p1.events, 26, '0.520000'],
        [p1.visits, 26, '0.910000'],
      ].sort(),
    );
  });

  it('a replayed run records nothing more', async () => {
    const before = await ledger([subs.xEvents]);
    const first = before[0]!;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const added = await recordRunUsage(client, { runId: first.run_id, subscriptionId: subs.xEvents, status: 'succeeded', recordsAdded: 52, datasets: [p1.events], addedByTid: {} });
      await client.query('COMMIT');
      expect(added).toBe(0);
    } finally {
      client.release();
    }
    // The reconciler may meter an entry meanwhile (every 2 s here): compare the entries, not their Stripe status.
    const unmetered = (rows: typeof before) => rows.map(({ metered_at: _m, ...entry }) => entry);
    expect(unmetered(await ledger([subs.xEvents]))).toEqual(unmetered(before));
  });

  it('sends every ledger entry to Stripe as a meter event whose identifier is the entry id', async () => {
    const all = [subs.xEvents, subs.xClicks, subs.yJoin];
    await waitUntil('the reconciler to meter every entry', async () => (await ledger(all)).every((e) => e.metered_at !== null), 60_000);
    const entries = await ledger(all);
    expect(entries).toHaveLength(5); // x events ×2 runs, x clicks, y join × 2 datasets
    const sent = recorder.meterEvents();
    const byId = new Map(sent.map((e) => [e.identifier, e]));
    for (const e of entries) {
      const ev = byId.get(e.id);
      expect(ev, `meter event for entry ${e.id}`).toBeDefined();
      expect(ev!.event).toBe('atoll_usage_usd');
      // The value is the amount in millionths of a dollar (the metered price is 0.0001 cent per unit).
      expect(ev!.value).toBe(toMicros(e.amount).toString());
      expect(ev!.customer).toMatch(/^cus_/);
    }
    // The consumers' customers and Stripe subscriptions were made through the same Stripe (the meter and the price
    // are made once per currency and installation, so an earlier run of this file may have made them).
    const seen = new Set(recorder.requests.map((r) => `${r.method} ${r.path}`));
    for (const p of ['POST /v1/customers', 'POST /v1/subscriptions']) expect(seen.has(p), p).toBe(true);
    const { rows } = await pool.query<{ kind: string }>(`SELECT kind FROM stripe_objects WHERE key = 'usd' ORDER BY kind`);
    expect(rows.map((r) => r.kind)).toEqual(['meter', 'price']);
  });

  it('keeps delivering while Stripe is down and catches up when it is back', async () => {
    await recorder.stop();
    try {
      await upload(p1, 'events', [
        { user_id: p1Users[2], kind: 'refund', value: 1 },
        { user_id: p1Users[3], kind: 'refund', value: 2 },
      ]);
      await waitPublished(x.http, p1.events, 57);
      expect(await runNow(x.http, subs.xEvents)).toMatchObject({ status: 'succeeded', recordsAdded: 2 });
      const usage = await x.http.call<Usage>('GET', `/v1/billing/usage?month=${month}&subscription=${subs.xEvents}`);
      expect(usage.subscriptions).toEqual([expect.objectContaining({ records: 57, amount: '1.14' })]);
      // The reconciler tries (every 2 s in the local stack) and fails: the entry waits, counted, unmetered.
      await waitUntil('a failed metering attempt', async () => {
        const { rows } = await pool.query<{ meter_attempts: number }>('SELECT meter_attempts FROM usage_ledger WHERE subscription_id = $1 AND metered_at IS NULL', [subs.xEvents]);
        return rows.length === 1 && rows[0]!.meter_attempts >= 1;
      }, 60_000);
    } finally {
      await recorder.start();
    }
    await waitUntil('the reconciler to catch up', async () => (await ledger([subs.xEvents])).every((e) => e.metered_at !== null), 60_000);
    const last = (await ledger([subs.xEvents])).at(-1)!;
    expect(recorder.meterEvents().filter((e) => e.identifier === last.id).map((e) => e.value)).toEqual(['40000']); // 2 × 0.02
  });

  it('pays providers per subject with their revenue share; charges = payouts + platform share to the cent', async () => {
    // Provider 1: events to x (57 records) and y (26), visits to y (26); share 0.6.
    const out1 = await p1.http.call<{ share: string; payouts: Array<{ tid: string; records: number; amount: string }>; totals: Array<{ currency: string; amount: string }> }>(
      'GET',
      `/v1/payouts?month=${month}`,
    );
    expect(out1.share).toBe(SHARE.p1);
    const extra: Record<string, number> = { [p1Users[0]!]: 2, [p1Users[1]!]: 1, [p1Users[2]!]: 1, [p1Users[3]!]: 1 };
    const expected1 = new Map<string, bigint>();
    for (const u of p1Users) {
      const eventsToX = 2n + BigInt(extra[u] ?? 0);
      const micros = eventsToX * PRICE.events + 1n * PRICE.events + 1n * PRICE.visits; // x's events; y's join: events + visits
      expected1.set(tid1[u]!, part(micros, SHARE.p1));
    }
    expect(new Map(out1.payouts.map((p) => [p.tid, M(p.amount)]))).toEqual(expected1);
    const total1 = [...expected1.values()].reduce((a, b) => a + b, 0n);
    expect(out1.totals).toEqual([{ currency: 'usd', amount: out1.totals[0]!.amount }]);
    expect(M(out1.totals[0]!.amount)).toBe(total1);

    // Provider 2: clicks to x, 25 × 0.013, share 0.85.
    const out2 = await p2.http.call<{ payouts: Array<{ tid: string; records: number; amount: string }> }>('GET', `/v1/payouts?month=${month}`);
    expect(out2.payouts).toHaveLength(25);
    for (const p of out2.payouts) expect(p).toEqual({ tid: p.tid, records: 1, amount: '0.01105', currency: 'usd' });
    expect(new Set(out2.payouts.map((p) => p.tid))).toEqual(new Set(p2Users.map((u) => tid2[u])));
    const total2 = 25n * part(PRICE.clicks, SHARE.p2);

    // The provider's revenue per dataset.
    const rev1 = await p1.http.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
    expect(rev1.subscriptions).toBeUndefined();
    const ds = Object.fromEntries((rev1.datasets ?? []).map((d) => [d.dataset, d]));
    expect(ds[p1.events]).toMatchObject({ records: 57 + 26, gross: '1.66' });
    expect(M(ds[p1.events]!.revenue)).toBe(part(83n * PRICE.events, SHARE.p1));
    expect(ds[p1.visits]).toMatchObject({ records: 26, gross: '0.91', revenue: '0.546' });

    // Our consumers' charges split exactly into the providers' payouts and the platform's part.
    const charges = M('1.14') + M('0.325') + M('1.43');
    const platform = charges - total1 - total2;
    expect(total1 + total2 + platform).toBe(charges);
    expect(platform).toBe(part(83n * PRICE.events + 26n * PRICE.visits, '0.4') + 25n * part(PRICE.clicks, '0.15'));
    // And the operator's balance of the whole month (every test's data) holds to the last digit.
    const all = await op.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
    expect(all.balance!.length).toBeGreaterThan(0);
    for (const b of all.balance!) expect(M(b.payouts) + M(b.platform)).toBe(M(b.charges));
    expect(all.subscriptions!.map((s) => s.subscriptionId)).toEqual(expect.arrayContaining(Object.values(subs)));
  });

  it('closes the month into a Stripe invoice per consumer and shows its id in usage', async () => {
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis);
    try {
      await producer.enqueue(billingJobs.billing, { v: 1, task: 'close-month', month, nonce: randomUUID() });
    } finally {
      await producer.close();
      redis.disconnect();
    }
    const usage = await waitUntil('the invoice', async () => {
      const u = await x.http.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
      return (u.invoices?.length ?? 0) > 0 ? u : null;
    }, 60_000);
    expect(usage.invoices).toHaveLength(1);
    const invoice = usage.invoices![0]!;
    expect(invoice).toMatchObject({ consumerId: x.id, currency: 'usd', amount: '1.465' });
    expect(invoice.invoiceId).toMatch(/^in_/);
    expect(recorder.requests.some((r) => r.method === 'POST' && /^\/v1\/invoices\/[^/]+\/finalize$/.test(r.path))).toBe(true);
  });
});

describe('billing bad input', () => {
  it('refuses a malformed month and a foreign subscription', async () => {
    for (const bad of ['2026-13', '2026-1', 'last-month', '2026-11-01']) {
      const r = await x.http.raw('GET', `/v1/billing/usage?month=${bad}`);
      expect(r.status).toBe(400);
      expect((r.body as { error: { code: string } }).error.code).toBe('INVALID_MONTH');
    }
    expect((await x.http.raw('GET', '/v1/billing/usage')).status).toBe(400);
    expect((await p1.http.raw('GET', '/v1/payouts?month=13-2026')).status).toBe(400);
    const foreign = await x.http.raw('GET', `/v1/billing/usage?month=${month}&subscription=${subs.yJoin}`);
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body)).not.toContain('1.43');
    // Payouts are the provider's; a consumer is refused.
    expect((await x.http.raw('GET', `/v1/payouts?month=${month}`)).status).toBe(403);
    expect((await api.raw('GET', `/v1/billing/usage?month=${month}`)).status).toBe(401);
  });

  it('refuses a negative price and a query over datasets priced in different currencies', async () => {
    expect((await op.raw('PUT', `/v1/datasets/${p1.visits}/price`, { body: { perRecord: { amount: -0.01, currency: 'usd' } } })).status).toBe(400);
    expect((await op.raw('PUT', `/v1/datasets/${p1.visits}/price`, { body: { perRecord: { amount: 0.01, currency: 'US dollars' } } })).status).toBe(400);
    await op.call('PUT', `/v1/datasets/${p1.visits}/price`, { body: { perRecord: { amount: 0.035, currency: 'eur' } } });
    try {
      const room = await y.http.call<{ id: string }>('POST', '/v1/cleanrooms', { body: { name: 'mixed' } });
      const r = await y.http.raw('POST', '/v1/estimates', {
        body: { cleanroomId: room.id, table: 'mixed', sql: `SELECT e.tid, v.page FROM ${p1.events} e JOIN ${p1.visits} v ON e.tid = v.tid` },
      });
      expect(r.status).toBe(422);
      expect(JSON.stringify(r.body)).toContain('different currencies');
    } finally {
      await op.call('PUT', `/v1/datasets/${p1.visits}/price`, { body: { perRecord: { amount: 0.035, currency: 'usd' } } });
    }
    // Nothing was charged for it.
    const usageY = await y.http.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
    expect(usageY.totals).toEqual([{ currency: 'usd', amount: '1.43', records: 26 }]);
  });

  it('refuses a negative or absurd revenue share, and only an operator sets one', async () => {
    await using payments = await steppedUpOperator();
    for (const share of [-0.1, 1.5, 100, 0.12345]) {
      const r = await payments.raw('PUT', `/v1/providers/${p1.id}/revenue-share`, { body: { share } });
      expect(r.status, String(share)).toBe(400);
    }
    expect((await payments.raw('PUT', `/v1/providers/${p1.id}/revenue-share`, { body: { share: 'half' } })).status).toBe(400);
    expect((await p1.http.raw('PUT', `/v1/providers/${p1.id}/revenue-share`, { body: { share: 1 } })).status).toBe(403);
    expect((await payments.raw('PUT', `/v1/providers/${randomUUID()}/revenue-share`, { body: { share: 0.5 } })).status).toBe(404);
    // The operator's API key (client credentials) never carries a second factor.
    expect((await op.raw('PUT', `/v1/providers/${p1.id}/revenue-share`, { body: { share: 0.5 } })).status).toBe(403);
    expect((await p1.http.call<{ share: string }>('GET', `/v1/payouts?month=${month}`)).share).toBe(SHARE.p1);
  });

  it('accepts a correctly signed webhook once; unsigned, wrongly signed, stale or replayed: 400', async () => {
    const secret = env.ATOLL_STRIPE_WEBHOOK_SECRET!;
    const payload = JSON.stringify({ id: `evt_${uniq()}`, object: 'event', type: 'invoice.paid', data: { object: { id: 'in_unknown', object: 'invoice', status: 'paid' } } });
    const post = (headers: Record<string, string>) => api.raw('POST', '/v1/billing/webhook', { rawBody: payload, contentType: 'application/json', headers });
    const sign = (s: string, timestamp?: number) => Stripe.webhooks.generateTestHeaderString({ payload, secret: s, ...(timestamp ? { timestamp } : {}) });

    const unsigned = await post({});
    expect(unsigned.status).toBe(400);
    expect((unsigned.body as { error: { code: string } }).error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect((await post({ 'stripe-signature': sign('whsec_notthesecretnotthesecret') })).status).toBe(400);
    expect((await post({ 'stripe-signature': sign(secret, Math.floor(Date.now() / 1000) - 3600) })).status).toBe(400);
    const ok = await post({ 'stripe-signature': sign(secret) });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ received: true, type: 'invoice.paid' });
    const replay = await post({ 'stripe-signature': sign(secret) });
    expect(replay.status).toBe(400);
    expect((replay.body as { error: { code: string } }).error.code).toBe('WEBHOOK_REPLAYED');
  });
});

describe('billing under crashes', () => {
  // A subject licensed after the first run gets its two earlier rows at the next run: each of the 20 runs below has
  // exactly two records to deliver and charge, and its worker is SIGKILLed around the run's Iceberg commit.
  const script = join(repoRoot, 'test', 'support', 'crash-run.ts');
  const base = Array.from({ length: 25 }, (_, i) => `k-${String(i).padStart(2, '0')}`);
  const later = Array.from({ length: 20 }, (_, i) => `late-${String(i).padStart(2, '0')}`);
  let p3: Provider & { dataset: string; clientId: string; clientSecret: string };
  let z: { id: string; http: Http; clientId: string; clientSecret: string };
  // The loop outlives an access token: these make fresh ones from the kept client credentials.
  const p3Http = async () => api.withToken(await clientToken(env, p3.clientId, p3.clientSecret));
  const zHttp = async () => api.withToken(await clientToken(env, z.clientId, z.clientSecret));
  let tid3: Record<string, string>;
  let subscriptionId: string;

  beforeAll(async () => {
    const made = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `crash provider ${uniq()}` } });
    p3 = { id: made.id, clientId: made.clientId, clientSecret: made.clientSecret, http: api, dataset: `bcrash_${uniq()}` };
    p3.http = await p3Http();
    const s = await p3.http.call<{ id: string }>('POST', '/v1/schemas', {
      body: { table: 'taps', dataset: p3.dataset, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'n', type: 'long' }] },
    });
    await op.call('POST', `/v1/schemas/${s.id}/approve`);
    await op.call('PUT', `/v1/datasets/${p3.dataset}/price`, { body: { perRecord: { amount: 0.5, currency: 'usd' } } });
    await approveAgreement(op, p3);
    tid3 = await tidsOf(p3, [...base, ...later]);
    await license(p3, base.map((u) => tid3[u]!), ['taps']);
    await upload(p3, 'taps', [...base, ...later].flatMap((u) => [{ user_id: u, n: 1 }, { user_id: u, n: 2 }]));
    const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `crash consumer ${uniq()}`, useCase: { category: 'analytics', description: 'billing crash test consumer' } } });
    const a = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
    z = { id: c.id, clientId: a.clientId, clientSecret: a.clientSecret, http: api };
    z.http = await zHttp();
    await waitPublished(z.http, p3.dataset, 90);
    const room = await z.http.call<{ id: string }>('POST', '/v1/cleanrooms', { body: { name: 'crash' } });
    const sub = await subscribe(z, room.id, 'taps', `SELECT tid, n FROM ${p3.dataset}`);
    expect(sub.run).toMatchObject({ status: 'succeeded', recordsAdded: 50 });
    subscriptionId = sub.id;
  }, 600_000);

  /** Runs the stand-in worker as job `jobId`; with `kill`, SIGKILLs it `delayMs` after its run wrote its plan. */
  async function runChild(jobId: string, kill: { delayMs: number } | null): Promise<{ killed: boolean; done: string | null }> {
    const child = spawn(process.execPath, ['--import', 'tsx', script, subscriptionId, jobId], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    let finished = false;
    void exited.then(() => (finished = true));
    if (kill) {
      void (async () => {
        while (!finished) {
          const { rows } = await pool.query('SELECT 1 FROM subscription_runs WHERE job_id = $1 AND plan IS NOT NULL', [jobId]);
          if (rows.length > 0) break;
          await new Promise((r) => setTimeout(r, 15));
        }
        await new Promise((r) => setTimeout(r, kill.delayMs));
        if (!finished) child.kill('SIGKILL');
      })();
    }
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const [code, signal] = await exited;
    clearTimeout(guard);
    if (signal === 'SIGKILL') return { killed: true, done: null };
    if (code !== 0) throw new Error(`crash-run exited ${code}: ${err.slice(-2000)}`);
    return { killed: false, done: /DONE (\S+ \d+)/.exec(out)?.[1] ?? null };
  }

  it('a worker SIGKILLed around the commit 20 times: every delivered record is charged exactly once', async () => {
    let killedAfterPlan = 0;
    for (const [i, u] of later.entries()) {
      await license({ id: p3.id, http: await p3Http() }, [tid3[u]!], ['taps']);
      const jobId = `billing-crash-${subscriptionId}-${i}`;
      // Spread over the commit and the recording transaction after it.
      const first = await runChild(jobId, { delayMs: (i * 17) % 160 });
      if (first.killed) killedAfterPlan++;
      // BullMQ retries the same job: the retry finishes the planned run (or runs it, if it had not planned yet).
      const retry = await runChild(jobId, null);
      expect(retry.done).toMatch(/^succeeded (0|2)$/);
    }
    // A kill lands only while the run is still going after its plan: on a quiet machine runs finish sooner, and one
    // SeaweedFS pass saw exactly 10 of 20 (the bound was > 10). At least 5 still puts the kill after the plan on both
    // sides of the commit many times over; the count is printed.
    process.stdout.write(`billing crash: ${killedAfterPlan} of ${later.length} runs killed after their plan\n`);
    expect(killedAfterPlan).toBeGreaterThanOrEqual(5);
    z.http = await zHttp();
    p3.http = await p3Http();
    const rows = await (async () => {
      const { rows: r } = await pool.query<{ runs: string; records: string; entries: string }>(
        `SELECT (SELECT count(*) FROM subscription_runs WHERE subscription_id = $1 AND status = 'succeeded' AND records_added > 0) AS runs,
                (SELECT coalesce(sum(records), 0) FROM usage_ledger WHERE subscription_id = $1) AS records,
                (SELECT count(*) FROM usage_ledger WHERE subscription_id = $1) AS entries`,
        [subscriptionId],
      );
      return r[0]!;
    })();
    // 50 initial + 2 per late subject; one entry per run that added records; the table holds exactly what was charged.
    expect(Number(rows.records)).toBe(50 + 2 * later.length);
    expect(Number(rows.entries)).toBe(Number(rows.runs));
    const usage = await z.http.call<Usage>('GET', `/v1/billing/usage?month=${month}`);
    expect(usage.subscriptions).toEqual([expect.objectContaining({ subscriptionId, records: 90, amount: '45' })]);
    const table = await readCleanroomTable(await z.http.call<CleanroomKey>('POST', `/v1/cleanrooms/${(await z.http.call<{ cleanroomId: string }>('GET', `/v1/subscriptions/${subscriptionId}`)).cleanroomId}/credentials`), 'taps');
    expect(table).toHaveLength(90);
    // Payouts: each subject's two records, once each, at 0.5 × 0.7 (default share).
    const payouts = await p3.http.call<{ payouts: Array<{ tid: string; records: number; amount: string }> }>('GET', `/v1/payouts?month=${month}`);
    expect(payouts.payouts).toHaveLength(45);
    for (const p of payouts.payouts) expect(p).toMatchObject({ records: 2, amount: '0.7' });
  }, 1_200_000);
});

describe('the daily close', () => {
  it('invoices a past month still open (a consumer an earlier close passed over), exactly once', async () => {
    // y's charges, moved to two months ago, stand for a month whose close skipped y (entries not yet at Stripe then) and
    // which is no longer "the previous month": the scheduled close (no month named) must still invoice it, and a second
    // pass must not bill it twice. (A close of only the previous month, as first built, never would: this fails on it.)
    const past = previousMonth(previousMonth(month));
    const moved = await pool.query<{ amount: string }>('UPDATE usage_ledger SET month = $1 WHERE consumer_id = $2 AND month = $3 RETURNING amount::text AS amount', [past, y.id, month]);
    expect(moved.rowCount).toBeGreaterThan(0);
    const owed = moved.rows.reduce((s, r) => s + toMicros(r.amount), 0n);
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis);
    let polls = 0;
    try {
      const invoices = await waitUntil('the past month invoice', async () => {
        if (polls++ % 20 === 0) await producer.enqueue(billingJobs.billing, { v: 1, task: 'close-month', nonce: randomUUID() });
        const u = await y.http.call<Usage>('GET', `/v1/billing/usage?month=${past}`);
        return (u.invoices?.length ?? 0) > 0 ? u.invoices! : null;
      }, 90_000);
      expect(invoices).toHaveLength(1);
      expect(invoices[0]).toMatchObject({ consumerId: y.id, currency: 'usd' });
      expect(toMicros(invoices[0]!.amount)).toBe(owed);
      expect(invoices[0]!.invoiceId).toMatch(/^in_/);
      // Another pass finds nothing due for y: still one invoice, one finalize for it.
      const again = await producer.enqueue(billingJobs.billing, { v: 1, task: 'close-month', nonce: randomUUID() });
      const queue = producer.rawQueue(billingJobs.billing.queue);
      expect(await waitUntil('the second close', async () => ((await queue.getJobState(again)) === 'completed' ? 'completed' : null), 60_000)).toBe('completed');
      const { rows } = await pool.query('SELECT stripe_invoice_id FROM billing_invoices WHERE consumer_id = $1 AND month = $2', [y.id, past]);
      expect(rows).toEqual([{ stripe_invoice_id: invoices[0]!.invoiceId }]);
    } finally {
      await producer.close();
      redis.disconnect();
    }
  }, 180_000);
});
