// Licenses under load, in a scratch Postgres schema (so the shared log is not polluted; dropped at the end):
// 1. license creation — device signature check, provider countersignature, WORM archive put, log append + index —
//    against the bare cryptography of the same license (RSA verify + Ed25519 sign) as the baseline;
// 2. live-license lookups (hasLiveLicense) against BENCH_LICENSES_STORED (default 1,000,000) stored licenses,
//    against a bare `SELECT 1` round trip as the baseline; plus the server-side time per lookup (EXPLAIN ANALYZE).
import { createHash, generateKeyPairSync, randomUUID, sign as rsaSign, sign as edSign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import canonicalize from 'canonicalize';
import { HAS_LIVE_LICENSE_SQL, Licensing, SigningKeyStore, TransparencyLog, hasLiveLicense, type LicenseArchive, type LicenseDocument } from '@atoll/licensing';
import { KeyEncryptionKeys } from '@atoll/kek';
import { ObjectStore } from '@atoll/storage';
import { median, printTable, type BenchResult } from './harness.js';

const migrations = ['005_licenses.sql', '007_agreements.sql'].map((f) => readFileSync(fileURLToPath(new URL(`../packages/db/migrations/${f}`, import.meta.url)), 'utf8'));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `n` calls of `fn` from `concurrency` workers; returns seconds and per-call latencies (ms, sorted). */
async function load(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latencies: latencies.sort((a, b) => a - b) };
}

export async function benchLicenses(opts: { env: Record<string, string>; repeats: number; licenses: number; stored: number; concurrency: number }): Promise<BenchResult[]> {
  const { env } = opts;
  const schema = `bench_lic_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const admin = new pg.Pool({ connectionString: env.ATOLL_DATABASE_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = new pg.Pool({ connectionString: env.ATOLL_DATABASE_URL, max: opts.concurrency + 2, options: `-c search_path=${schema},public` });
  const results: BenchResult[] = [];
  const providerId = randomUUID();
  try {
    // The same tables as migrations 005 and 007, in the scratch schema (providers and table_schemas stay the shared ones).
    for (const m of migrations) await pool.query(m);
    await pool.query('INSERT INTO public.providers (id, name, client_id) VALUES ($1, $2, $3)', [providerId, 'bench provider', `bench-${providerId}`]);
    await pool.query(
      `INSERT INTO public.table_schemas (id, provider_id, table_name, dataset, columns, status) VALUES ($1, $2, 'events', $3, '[]', 'approved')`,
      [randomUUID(), providerId, `bench_${schema}`],
    );

    // ---- 1. license creation ----
    const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION ?? 'us-east-1', accessKey: env.ATOLL_S3_API_ACCESS_KEY!, secretKey: env.ATOLL_S3_API_SECRET_KEY! });
    const bucket = env.ATOLL_BUCKET_LICENSES ?? 'atoll-licenses';
    const archive: LicenseArchive = {
      async put(key, bytes, { retainUntil }) {
        const put = await store.client.putObject(bucket, `bench/${schema}/${key}`, bytes, bytes.length, { 'Content-Type': 'application/json', 'If-None-Match': '*' });
        await store.client.putObjectRetention(bucket, `bench/${schema}/${key}`, { versionId: put.versionId ?? '', mode: 'COMPLIANCE', retainUntilDate: retainUntil.toISOString() });
      },
    };
    const keys = new SigningKeyStore({ db: pool, keks: new KeyEncryptionKeys({ current: randomUUID() + randomUUID() }), logName: `bench.local/${schema}` });
    const log = new TransparencyLog({ db: pool, keys });
    // Retention of 1 day past a 1-hour license: the bench's locked objects go away by themselves.
    const licensing = new Licensing({ db: pool, keys, log, archive, retentionDays: 1 });
    const devices = Array.from({ length: 16 }, (_, i) => {
      const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { tid: `bench-tid-${i}`, deviceId: randomUUID(), privateKey: k.privateKey, pem: k.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    });
    const signedFor = (i: number) => {
      const d = devices[i % devices.length]!;
      const document: LicenseDocument = {
        v: 1,
        provider: providerId,
        subject: d.tid,
        device: d.deviceId,
        tables: ['events'],
        tags: ['purchase_history'],
        uses: [{ usecases: ['analytics'], destinations: ['*'] }],
        terms: { sha256: createHash('sha256').update(`terms ${i}`).digest('hex') },
        expiry: new Date(Date.now() + 3600_000).toISOString(),
        issuedAt: new Date().toISOString(),
      };
      return { d, document, signature: rsaSign('sha256', Buffer.from(canonicalize(document)!), d.privateKey).toString('base64url') };
    };
    const n = opts.licenses;
    const inputs = Array.from({ length: n * opts.repeats * 2 }, (_, i) => signedFor(i));
    const providerKey = await keys.providerKey(providerId);
    let cursor = 0;
    const atoll: number[] = [];
    const base: number[] = [];
    let lat: number[] = [];
    for (let r = 0; r < opts.repeats; r++) {
      const bare = await load(n, opts.concurrency, async () => {
        const { d, document, signature } = inputs[cursor++]!;
        const bytes = Buffer.from(canonicalize(document)!);
        if (!verify('sha256', bytes, d.pem, Buffer.from(signature, 'base64url'))) throw new Error('bad signature');
        edSign(null, Buffer.concat([bytes, Buffer.from(signature)]), providerKey.privateKey);
      });
      base.push(bare.seconds);
      const full = await load(n, opts.concurrency, async () => {
        const { d, document, signature } = inputs[cursor++]!;
        await licensing.create({ document, signature, device: { deviceId: d.deviceId, providerId, tid: d.tid, publicKey: d.pem } });
      });
      atoll.push(full.seconds);
      lat = full.latencies;
    }
    const { rows: sizeRows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM log_leaves');
    results.push({
      name: 'license create (verify+countersign+WORM+log)',
      params: {
        licenses: n,
        concurrency: opts.concurrency,
        perSecond: Math.round(n / median(atoll)),
        bareCryptoPerSecond: Math.round(n / median(base)),
        p50ms: Number(percentile(lat, 50).toFixed(1)),
        p99ms: Number(percentile(lat, 99).toFixed(1)),
        logSize: Number(sizeRows[0]!.n),
      },
      atollSeconds: median(atoll),
      baselineSeconds: median(base),
      baseline: 'RSA verify + Ed25519 sign only',
      ratio: median(base) / median(atoll),
      samples: { atoll, baseline: base },
    });

    // ---- 2. lookups against `stored` licenses ----
    // Bulk load server-side (generate_series): one grant row per license, 1% of them expired, as license_grants
    // holds them. The FK to `licenses` is dropped in this scratch copy: lookups read license_grants only.
    await pool.query('ALTER TABLE license_grants DROP CONSTRAINT license_grants_license_id_fkey');
    await pool.query('DROP INDEX license_grants_by_use');
    const loadStart = performance.now();
    await pool.query(
      `INSERT INTO license_grants (license_id, provider_id, tid, table_name, usecase, destination, expires_at)
       SELECT gen_random_uuid(), $1, 'tid-' || g, 'events', 'analytics', '*',
              CASE WHEN g % 100 = 0 THEN now() - interval '1 day' ELSE now() + interval '1 year' END
       FROM generate_series(1, $2) AS g`,
      [providerId, opts.stored],
    );
    await pool.query('CREATE INDEX license_grants_by_use ON license_grants (provider_id, table_name, usecase, destination, tid) INCLUDE (expires_at, agreement_sha256)');
    await pool.query('ANALYZE license_grants');
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const lookups = Math.max(5000, Math.min(50_000, opts.stored / 20));
    const tidFor = (i: number) => `tid-${1 + ((i * 7919) % opts.stored)}`;
    const la: number[] = [];
    const lb: number[] = [];
    let lookupLat: number[] = [];
    let live = 0;
    for (let r = 0; r < opts.repeats; r++) {
      lb.push((await load(lookups, opts.concurrency, async () => pool.query('SELECT 1'))).seconds);
      live = 0;
      const run = await load(lookups, opts.concurrency, async (i) => {
        if (await hasLiveLicense(pool, { providerId, tid: tidFor(i + r), table: 'events' })) live++;
      });
      la.push(run.seconds);
      lookupLat = run.latencies;
    }
    if (live === 0 || live === lookups) throw new Error('lookups found every or no TID licensed: the data set is wrong');
    // Server-side time of one lookup (planning excluded), averaged over a sample of TIDs.
    const serverMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${HAS_LIVE_LICENSE_SQL}`,
        [providerId, tidFor(i * 13), 'events', new Date()],
      );
      serverMs.push(rows[0]!['QUERY PLAN'][0]!['Execution Time']);
    }
    serverMs.sort((a, b) => a - b);
    results.push({
      name: 'hasLiveLicense lookups',
      params: {
        stored: opts.stored,
        loadSeconds: Number(loadSeconds.toFixed(1)),
        lookups,
        concurrency: opts.concurrency,
        perSecond: Math.round(lookups / median(la)),
        p50ms: Number(percentile(lookupLat, 50).toFixed(3)),
        p99ms: Number(percentile(lookupLat, 99).toFixed(3)),
        serverMsMedian: Number(percentile(serverMs, 50).toFixed(4)),
        serverMsP99: Number(percentile(serverMs, 99).toFixed(4)),
      },
      atollSeconds: median(la),
      baselineSeconds: median(lb),
      baseline: 'SELECT 1 round trip',
      ratio: median(lb) / median(la),
      samples: { atoll: la, baseline: lb },
    });
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.query('DELETE FROM public.table_schemas WHERE provider_id = $1', [providerId]);
    await admin.query('DELETE FROM public.providers WHERE id = $1', [providerId]);
    await admin.end();
  }
  return results;
}

// `npx tsx bench/licenses.bench.ts` runs this benchmark alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { paths, readStackEnvFile } = await import('@atoll/stack');
  const rs = await benchLicenses({
    env: readStackEnvFile(paths.envFile),
    repeats: Number(process.env.BENCH_REPEATS ?? 3),
    licenses: Number(process.env.BENCH_LICENSES ?? 300),
    stored: Number(process.env.BENCH_LICENSES_STORED ?? 1_000_000),
    concurrency: Number(process.env.BENCH_LICENSE_CONCURRENCY ?? 8),
  });
  printTable(rs);
  for (const r of rs) process.stdout.write(`${r.name}: ${JSON.stringify(r.params)}\n`);
}
