// The chaos suite's workload (issue 13): what users do to Atoll all day, kept running while faults are injected.
// A provider's backend and devices upload records, the provider's nightly export lands as bulk files over S3, a
// consumer's subscription is run again and again. Every batch is retried with its Idempotency-Key (bulk files under
// the same key and bytes) until it is acknowledged, so every record the workload made is, in the end, acknowledged —
// and must then be in the raw and published tables exactly once.
import { createHash } from 'node:crypto';
import { AtollClientError, init as initDevice, memoryStorage, type AtollClient } from '@atoll/client';
import { AtollHttp, clientToken, waitUntil, type CleanroomKey } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';

export const TABLE = 'orders';
export const USERS = Array.from({ length: 40 }, (_, i) => `u${String(i).padStart(2, '0')}`);
/** Users whose devices upload and sign their own licenses; never revoked by the driver. */
export const DEVICE_USERS = USERS.slice(0, 3);
const TERMS = { sha256: createHash('sha256').update('chaos member agreement v1').digest('hex'), uri: 'https://provider.example/chaos-terms' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client-credentials principal whose token is fetched again before it expires (chaos runs outlast tokens). */
export class Principal {
  private token: { value: string; renewAt: number } | null = null;
  constructor(
    private readonly env: Record<string, string>,
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  async http(): Promise<AtollHttp> {
    if (!this.token || Date.now() > this.token.renewAt) {
      const value = await clientToken(this.env, this.clientId, this.clientSecret);
      const exp = (JSON.parse(Buffer.from(value.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
      this.token = { value, renewAt: Date.now() + Math.max(10_000, (exp - Date.now()) / 2) };
    }
    return new AtollHttp(this.env.ATOLL_API_URL!, this.token.value);
  }
}

export interface Record_ {
  user_id: string;
  seq: number;
  amount: number;
}

export interface Setup {
  env: Record<string, string>;
  operator: Principal;
  provider: Principal & { id: string };
  consumer: Principal & { id: string };
  dataset: string;
  tids: Record<string, string>;
  /** The delegated license of each user (what the driver revokes). */
  licenses: Record<string, string>;
  devices: Array<{ userId: string; client: AtollClient }>;
  cleanroom: CleanroomKey & { id: string };
  cleanroomTable: string;
  subscriptionId: string;
}

async function principal(env: Record<string, string>, clientId: string, clientSecret: string, id: string): Promise<Principal & { id: string }> {
  return Object.assign(new Principal(env, clientId, clientSecret), { id });
}

/** Waits (through faults) until `fn` answers; errors are retried with backoff for up to `timeoutMs`. */
export async function persist<T>(what: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s: ${(e as Error).message}`, { cause: e });
      await sleep(delay);
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

/** A refusal no retry can change (bad input, not allowed): the workload itself is wrong, so the run stops. */
class Refused extends Error {}

async function ok<T>(r: Promise<{ status: number; body: unknown }>, what: string): Promise<T> {
  const res = await r;
  if (res.status >= 300) {
    const message = `${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`;
    // 401 (a token the api restarted under), 408 and 429 are worth retrying; other 4xx are not.
    throw res.status >= 400 && res.status < 500 && ![401, 408, 429].includes(res.status) ? new Refused(message) : new Error(message);
  }
  return res.body as T;
}

/** Provider, schema, 40 delegated licenses, 3 devices with their own licenses, a consumer with a subscription. */
export async function setUp(env: Record<string, string>, suffix: string, initial: Record_[]): Promise<Setup> {
  const operator = new Principal(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  const op = await operator.http();
  const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `chaos provider ${suffix}` } });
  const provider = await principal(env, p.clientId, p.clientSecret, p.id);
  const prov = await provider.http();
  const dataset = `chaos_${suffix}`;
  const schema = await prov.call<{ id: string }>('POST', '/v1/schemas', {
    body: {
      table: TABLE,
      dataset,
      columns: [
        { name: 'user_id', type: 'string', role: 'user_id' },
        { name: 'seq', type: 'long' },
        { name: 'amount', type: 'decimal(10,2)' },
      ],
    },
  });
  await op.call('POST', `/v1/schemas/${schema.id}/approve`);
  await op.call('PUT', `/v1/datasets/${dataset}/price`, { body: { perRecord: { amount: 0.01, currency: 'usd' } } });
  const agreement = await prov.call<{ id: string }>('POST', '/v1/agreements', { body: { terms: TERMS, title: 'Chaos member agreement', description: 'Members share orders for analytics.' } });
  await op.call('POST', `/v1/agreements/${agreement.id}/approve`);
  const { tids } = await prov.call<{ tids: Record<string, string> }>('POST', '/v1/users/tids', { body: { userIds: USERS } });
  const delegated = await prov.call<{ licenses: Array<{ id: string; tid: string }> }>('POST', '/v1/licenses/delegated', {
    body: {
      tids: USERS.map((u) => tids[u]!),
      template: { tables: [TABLE], tags: ['orders'], terms: TERMS },
      uses: [{ usecases: ['analytics'], destinations: ['*'] }],
      expiry: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    },
  });
  const userOfTid = new Map(USERS.map((u) => [tids[u]!, u]));
  const licenses = Object.fromEntries(delegated.licenses.map((l) => [userOfTid.get(l.tid)!, l.id]));

  const devices: Setup['devices'] = [];
  for (const userId of DEVICE_USERS) {
    const { attestation } = await prov.call<{ attestation: string }>('POST', '/v1/devices/attestations', { body: { userId } });
    const client = initDevice({ baseUrl: env.ATOLL_API_URL!, storage: memoryStorage() });
    await client.createKeys();
    await client.register(attestation);
    await client.signLicense(
      await client.buildLicense({ tables: [TABLE], tags: ['orders'], uses: [{ usecases: ['analytics'], destinations: ['*'] }], terms: TERMS, expiry: new Date(Date.now() + 365 * 86_400_000) }),
    );
    devices.push({ userId, client });
  }

  // One record per user first, so the estimate meets the cohort minimum.
  await prov.call('POST', `/v1/uploads/${TABLE}`, { rawBody: initial.map((r) => JSON.stringify(r)).join('\n'), contentType: 'application/x-ndjson', headers: { 'idempotency-key': `initial-${suffix}` } });

  const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `chaos consumer ${suffix}`, useCase: { category: 'analytics', description: 'chaos suite consumer' } } });
  const approved = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
  const consumer = await principal(env, approved.clientId, approved.clientSecret, c.id);
  const cons = await consumer.http();
  await waitUntil(`${dataset} to be published`, async () => {
    const { datasets } = await cons.call<{ datasets: Array<{ name: string; records: number }> }>('GET', '/v1/datasets');
    return datasets.find((d) => d.name === dataset && d.records === initial.length);
  }, 180_000);
  const cleanroom = await cons.call<CleanroomKey & { id: string }>('POST', '/v1/cleanrooms', { body: { name: `chaos-${suffix}` } });
  const cleanroomTable = 'orders_delivered';
  const estimate = await cons.call<{ id: string }>('POST', '/v1/estimates', { body: { cleanroomId: cleanroom.id, table: cleanroomTable, sql: `SELECT tid, seq, amount FROM ${dataset}` } });
  const sub = await cons.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: estimate.id } });
  return { env, operator, provider, consumer, dataset, tids, licenses, devices, cleanroom, cleanroomTable, subscriptionId: sub.id };
}

type Loop = { name: string; idle: boolean; done: Promise<void> };

/** The running workload: three kinds of writers and a run trigger, each pausable at a clean point. */
export class Workload {
  private running = true;
  private paused = false;
  private loops: Loop[] = [];
  /** The first error that ended a loop (a batch never acknowledged): the run fails with it. */
  fatal: Error | null = null;
  private next = 1_000_000;
  private batch = 0;
  readonly acked: Record_[] = [];
  readonly counts = { providerBatches: 0, deviceBatches: 0, bulkFiles: 0, runTriggers: 0, failedAttempts: 0 };
  private bulk: ObjectStore | null = null;
  private bulkTarget: { bucket: string; prefix: string } | null = null;

  constructor(
    private readonly s: Setup,
    private readonly suffix: string,
    private readonly rand: () => number,
  ) {}

  /** Users whose license the driver revoked: the provider stops sending their records. */
  readonly revoked = new Set<string>();

  /** `n` new records with fresh sequence numbers, over the users still licensed. */
  records(n: number): Record_[] {
    const users = USERS.filter((u) => !this.revoked.has(u));
    return Array.from({ length: n }, () => {
      const seq = this.next++;
      return { user_id: users[Math.floor(this.rand() * users.length)]!, seq, amount: ((seq % 9_000) + 100) / 100 };
    });
  }

  start(): void {
    this.loops = [
      this.loop('provider-a', 800, () => this.providerBatch()),
      this.loop('provider-b', 800, () => this.providerBatch()),
      this.loop('devices', 800, () => this.deviceBatch()),
      this.loop('bulk', 5_000, () => this.bulkFile()),
      this.loop('runs', 8_000, () => this.triggerRun()),
    ];
  }

  private loop(name: string, everyMs: number, step: () => Promise<void>): Loop {
    const l: Loop = { name, idle: false, done: Promise.resolve() };
    l.done = (async () => {
      while (this.running) {
        if (this.paused) {
          l.idle = true;
          await sleep(50);
          continue;
        }
        l.idle = false;
        try {
          await step();
        } catch (e) {
          this.fatal ??= e as Error;
          break;
        }
        await sleep(everyMs * (0.5 + this.rand()));
      }
      l.idle = true;
    })();
    return l;
  }

  /** Retries `fn` until it succeeds (5 minutes at most: a batch never acknowledged fails the run). */
  private async untilAcked(what: string, fn: () => Promise<void>): Promise<void> {
    let delay = 100;
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        await fn();
        return;
      } catch (e) {
        if (e instanceof Refused) throw e;
        this.counts.failedAttempts++;
        if (Date.now() > deadline) throw new Error(`${what} was not acknowledged in 5 minutes: ${(e as Error).message}`, { cause: e });
        await sleep(delay);
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  private async providerBatch(): Promise<void> {
    const records = this.records(5 + Math.floor(this.rand() * 10));
    const key = `p-${this.suffix}-${this.batch++}`;
    await this.untilAcked(`provider upload ${key}`, async () => {
      const http = await this.s.provider.http();
      await ok(http.raw('POST', `/v1/uploads/${TABLE}`, { rawBody: records.map((r) => JSON.stringify(r)).join('\n'), contentType: 'application/x-ndjson', headers: { 'idempotency-key': key } }), 'upload');
    });
    this.acked.push(...records);
    this.counts.providerBatches++;
  }

  private async deviceBatch(): Promise<void> {
    const device = this.s.devices[Math.floor(this.rand() * this.s.devices.length)]!;
    const records = this.records(1 + Math.floor(this.rand() * 3)).map((r) => ({ ...r, user_id: device.userId }));
    const key = `d-${this.suffix}-${this.batch++}`;
    await this.untilAcked(`device upload ${key}`, async () => {
      try {
        await device.client.upload(TABLE, records.map(({ seq, amount }) => ({ seq, amount })), { idempotencyKey: key });
      } catch (e) {
        const status = e instanceof AtollClientError ? e.status : 0;
        throw status >= 400 && status < 500 && ![401, 408, 429].includes(status) ? new Refused(`device upload: ${(e as Error).message}`) : e;
      }
    });
    this.acked.push(...records);
    this.counts.deviceBatches++;
  }

  private async bulkFile(): Promise<void> {
    const records = this.records(30);
    const name = `${TABLE}/chaos-${this.suffix}-${this.batch++}.csv`;
    const body = ['user_id,seq,amount', ...records.map((r) => `${r.user_id},${r.seq},${r.amount}`)].join('\n') + '\n';
    await this.untilAcked(`bulk file ${name}`, async () => {
      if (!this.bulk || !this.bulkTarget) {
        const http = await this.s.provider.http();
        const c = await ok<{ endpoint: string; region: string; bucket: string; prefix: string; accessKeyId: string; secretAccessKey: string }>(http.raw('POST', '/v1/bulk-credentials'), 'bulk credentials');
        this.bulk = new ObjectStore({ endpoint: c.endpoint, region: c.region, accessKey: c.accessKeyId, secretKey: c.secretAccessKey });
        this.bulkTarget = { bucket: c.bucket, prefix: c.prefix };
      }
      try {
        await this.bulk.putObject(this.bulkTarget.bucket, `${this.bulkTarget.prefix}${name}`, body, { contentType: 'text/csv' });
      } catch (e) {
        if (/denied|expired|InvalidAccessKeyId|SignatureDoesNotMatch/i.test(String((e as Error).message))) this.bulk = null;
        throw e;
      }
    });
    this.acked.push(...records);
    this.counts.bulkFiles++;
  }

  private async triggerRun(): Promise<void> {
    try {
      const http = await this.s.consumer.http();
      const r = await http.raw('POST', `/v1/subscriptions/${this.s.subscriptionId}/run`);
      if (r.status < 300) this.counts.runTriggers++;
    } catch {
      /* a run trigger during a fault is simply lost; the next one comes */
    }
  }

  /** Stops starting new batches and waits until every batch in flight is acknowledged. */
  async pause(): Promise<void> {
    this.paused = true;
    await waitUntil('the workload to pause', async () => this.loops.every((l) => l.idle), 600_000);
    if (this.fatal) throw this.fatal;
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.map((l) => l.done));
    if (this.fatal) throw this.fatal;
  }
}
