// The chaos suite (issue 13): the workload of ./workload.ts runs while a driver, at random points, SIGKILLs the api,
// the writer or the cleanroom worker, restarts MinIO, Redis or PostgreSQL, or fills the writer's temp directory. After
// each fault the workload pauses (every batch in flight acknowledged), the system is left to settle, a subscription
// run is made, and the invariants are checked from the outside:
//   - every acknowledged record is in the raw and in the published table exactly once (PyIceberg over the catalog);
//   - DuckDB over the catalog reads the same (count, distinct, sum);
//   - the cleanroom holds exactly the records of the subjects licensed now (read with the consumer's own key);
//   - every charged record was delivered and charged once (ledger = runs = cleanroom; usage API = ledger; metered);
//   - nothing is stuck (each of the above settles within its time limit).
// Used by `npm run chaos` (test/chaos/run.ts) and, with a few faults, by test/chaos.test.ts in `npm test`.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import { ensureServices, readCleanroomTable, serviceNames, stateDir, status, stopService, waitUntil, type ServiceName } from '@atoll/stack';
import { duckdbStats, pyicebergColumn, type CatalogCredentials } from './engines.js';
import { DEVICE_USERS, persist, setUp, TABLE, USERS, Workload, type Record_, type Setup } from './workload.js';

export const FAULT_KINDS = ['kill-api', 'kill-writer', 'kill-cleanroom', 'restart-minio', 'restart-redis', 'restart-postgres', 'fill-writer-disk'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export const INVARIANTS = ['acknowledged once in raw', 'acknowledged once in published', 'DuckDB reads the same', 'delivered rows licensed, exactly', 'charged once, as delivered', 'nothing stuck'] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface FaultRecord {
  n: number;
  kind: FaultKind;
  atMs: number;
  /** Time from the fault until every service answered healthy again. */
  recoveryMs: number;
  /** Services found dead after the fault other than the one it targeted (restarted, as a supervisor would). */
  collateral: string[];
  checkMs: number;
  timing: Checked['timing'];
  records: number;
  violations: string[];
}

export interface ChaosReport {
  seed: number;
  startedAt: string;
  durationMs: number;
  faults: FaultRecord[];
  invariants: Array<{ invariant: Invariant; checks: number; held: number }>;
  workload: Workload['counts'] & { recordsAcknowledged: number; revokedSubjects: number };
  diskFaults: 'tmpfs' | 'unavailable';
  /** Violations found by the check after the workload stopped. */
  final: string[];
  ok: boolean;
}

export interface ChaosOptions {
  faults: number;
  seed: number;
  say: (line: string) => void;
  /** Workload time before each fault, ms (uniform between the two). */
  gapMs?: [number, number];
  /** Revoke one subject's license before every n-th check (at most 8: the cohort of 25 stays met). */
  revokeEvery?: number;
  /** Only these kinds of fault (default: all). */
  kinds?: readonly FaultKind[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** `n` fault kinds, each kind as often as the others (±1), in a seeded order. */
export function faultPlan(n: number, rand: () => number, kinds: readonly FaultKind[]): FaultKind[] {
  const plan = Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

// ---- the writer's temp directory on a small tmpfs, so "disk full" is real and harms nothing else -----------------

const writerWorkDir = () => join(stateDir, 'work', 'writer');
const TMPFS_SIZE = '512m';

async function mountWriterTmpfs(say: (l: string) => void): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  await stopService('writer', 'SIGTERM');
  try {
    execFileSync('mkdir', ['-p', writerWorkDir()]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'atoll-chaos', writerWorkDir()], { stdio: 'pipe' });
    say(`writer temp directory on a ${TMPFS_SIZE} tmpfs (${writerWorkDir()})`);
    return true;
  } catch (e) {
    say(`no tmpfs for the writer's temp directory (${(e as Error).message.split('\n')[0]}): disk faults unavailable`);
    return false;
  } finally {
    await ensureServices(['writer']);
  }
}

async function unmountWriterTmpfs(): Promise<void> {
  await stopService('writer', 'SIGTERM');
  try {
    execFileSync('umount', [writerWorkDir()], { stdio: 'pipe' });
  } catch {
    // Still busy (a child of a killed writer): detach it now, the kernel frees it when the last file closes.
    execFileSync('umount', ['-l', writerWorkDir()], { stdio: 'pipe' });
  } finally {
    await ensureServices(['writer']);
  }
}

/** Writes zeros into the writer's temp directory until the device is full; returns the filler's path. */
async function fillDisk(): Promise<string> {
  const file = join(writerWorkDir(), `chaos-filler-${randomUUID()}`);
  const fh = await open(file, 'w');
  const chunk = Buffer.alloc(8 << 20);
  try {
    for (;;) await fh.write(chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close();
  }
  return file;
}

// ---- faults --------------------------------------------------------------------------------------------------------

async function inject(kind: FaultKind, rand: () => number, say: (l: string) => void): Promise<void> {
  const down = (min: number, max: number) => sleep(min + rand() * (max - min));
  switch (kind) {
    case 'kill-api':
    case 'kill-writer':
    case 'kill-cleanroom': {
      const name = kind.slice('kill-'.length) as ServiceName;
      await stopService(name, 'SIGKILL');
      await down(500, 3_000);
      await ensureServices([name], { say: () => {} });
      return;
    }
    case 'restart-minio':
    case 'restart-redis':
      await stopService(kind.slice('restart-'.length) as ServiceName, 'SIGTERM');
      await down(500, 3_000);
      await ensureServices([kind.slice('restart-'.length) as ServiceName], { say: () => {} });
      return;
    case 'restart-postgres':
      // Fast shutdown (SIGINT): the apps' pooled connections are cut, as in a failover.
      await stopService('postgres', 'SIGINT');
      await down(500, 3_000);
      await ensureServices(['postgres'], { say: () => {} });
      return;
    case 'fill-writer-disk': {
      const filler = await fillDisk();
      say('    writer temp directory full');
      await down(4_000, 8_000);
      await unlink(filler);
      return;
    }
  }
}

/** Brings back every service that is down (a supervisor's job), and names those the fault took down with it. */
async function recover(target: string): Promise<string[]> {
  const dead = (await status()).filter((s) => !s.running).map((s) => s.name).filter((n) => !target.endsWith(n));
  await ensureServices([...serviceNames], { say: () => {} });
  return dead;
}

// ---- invariants ----------------------------------------------------------------------------------------------------

interface Checked {
  violations: string[];
  held: Invariant[];
  /** Where the check's time went (ms): waiting for the pipeline, the two engines, the run and the bookkeeping. */
  timing: { settle: number; engines: number; run: number; delivery: number };
}

function sameMultiset(label: string, got: number[], want: Set<number>): string | null {
  const seen = new Map<number, number>();
  for (const v of got) seen.set(v, (seen.get(v) ?? 0) + 1);
  const dups = [...seen].filter(([, c]) => c > 1);
  const missing = [...want].filter((v) => !seen.has(v));
  const extra = [...seen.keys()].filter((v) => !want.has(v));
  if (dups.length === 0 && missing.length === 0 && extra.length === 0) return null;
  const show = (xs: unknown[]) => `${xs.length}${xs.length ? ` (e.g. ${JSON.stringify(xs.slice(0, 5))})` : ''}`;
  return `${label}: ${got.length} rows for ${want.size} records; twice: ${show(dups)}, missing: ${show(missing)}, unexpected: ${show(extra)}`;
}

async function check(s: Setup, w: Workload, catalog: CatalogCredentials, pool: ReturnType<typeof createPool>): Promise<Checked> {
  const violations: string[] = [];
  const held: Invariant[] = [];
  const acked = new Set(w.acked.map((r) => r.seq));
  const judge = (inv: Invariant, problem: string | null) => (problem ? violations.push(`${inv}: ${problem}`) : held.push(inv));
  const timing = { settle: 0, engines: 0, run: 0, delivery: 0 };
  let mark = Date.now();
  const lap = (k: keyof typeof timing) => {
    timing[k] = Date.now() - mark;
    mark = Date.now();
  };

  // Settle: the published dataset reaches the acknowledged count and no ingest is left pending.
  let settled: string | null = null;
  try {
    await waitUntil(`${acked.size} records published`, async () => {
      const cons = await s.consumer.http();
      const { datasets } = await cons.call<{ datasets: Array<{ name: string; records: number }> }>('GET', '/v1/datasets');
      if (datasets.find((d) => d.name === s.dataset)?.records !== acked.size) return false;
      const prov = await s.provider.http();
      const { ingests } = await prov.call<{ ingests: unknown[] }>('GET', `/v1/ingests?table=${TABLE}&status=pending`);
      return ingests.length === 0;
    }, 300_000);
  } catch (e) {
    settled = (e as Error).message;
  }
  lap('settle');

  const rawName = `${TABLE}__${s.provider.id.replaceAll('-', '')}`;
  for (const [inv, ns, name] of [['acknowledged once in raw', 'raw', rawName], ['acknowledged once in published', 'published', s.dataset]] as const) {
    try {
      const seqs = await persist(`read ${ns}.${name}`, () => pyicebergColumn(catalog, `${ns}.${name}`, 'seq'), 60_000);
      judge(inv, sameMultiset(`${ns}.${name} (PyIceberg)`, seqs, acked));
    } catch (e) {
      judge(inv, `PyIceberg cannot read ${ns}.${name}: ${(e as Error).message}`);
    }
  }
  try {
    const want = { rows: acked.size, distinct: acked.size, sum: [...acked].reduce((a, b) => a + b, 0) };
    const problems: string[] = [];
    for (const [ns, name] of [['raw', rawName], ['published', s.dataset]] as const) {
      const got = await persist(`DuckDB ${ns}.${name}`, () => duckdbStats(catalog, ns, name, 'seq'), 60_000);
      if (got.rows !== want.rows || got.distinct !== want.distinct || got.sum !== want.sum) problems.push(`${ns}.${name}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    judge('DuckDB reads the same', problems.length ? problems.join('; ') : null);
  } catch (e) {
    judge('DuckDB reads the same', `DuckDB cannot read: ${(e as Error).message}`);
  }

  lap('engines');
  // A run now must deliver exactly the records of the subjects licensed now.
  let runProblem: string | null = null;
  try {
    const before = await runCount(pool, s.subscriptionId);
    await persist('run trigger', async () => (await s.consumer.http()).call('POST', `/v1/subscriptions/${s.subscriptionId}/run`), 120_000);
    const run = await waitUntil('a subscription run to finish', async () => {
      const r = await pool.query<{ status: string; reason: string | null; error: string | null }>(
        `SELECT status, reason, error FROM subscription_runs WHERE subscription_id = $1 AND status <> 'running' ORDER BY finished_at DESC`,
        [s.subscriptionId],
      );
      return r.rows.length > before ? r.rows[0] : null;
    }, 300_000);
    if (run.status !== 'succeeded') runProblem = `the run ${run.status}: ${run.reason ?? run.error}`;
  } catch (e) {
    runProblem = (e as Error).message;
  }
  lap('run');
  try {
    const rows = await persist('read the cleanroom', () => readCleanroomTable(s.cleanroom, s.cleanroomTable), 60_000);
    const licensedTids = new Set(USERS.filter((u) => !w.revoked.has(u)).map((u) => s.tids[u]!));
    const want = new Set(w.acked.filter((r) => !w.revoked.has(r.user_id)).map((r) => r.seq));
    const unlicensed = rows.filter((r) => !licensedTids.has(String(r.tid)));
    const problem = runProblem ?? sameMultiset('cleanroom', rows.map((r) => Number(r.seq)), want) ?? (unlicensed.length ? `${unlicensed.length} rows of unlicensed subjects` : null);
    judge('delivered rows licensed, exactly', problem);

    // Billing: one ledger entry per run that added records, as many records as the runs added, all sent to Stripe.
    const ledger = await waitUntil('every ledger entry metered', async () => {
      const r = await pool.query<{ entries: string; records: string | null; unmetered: string; runs_added: string | null; runs_removed: string | null; runs_with_adds: string }>(
        `SELECT (SELECT count(*) FROM usage_ledger WHERE subscription_id = $1) AS entries,
                (SELECT sum(records) FROM usage_ledger WHERE subscription_id = $1) AS records,
                (SELECT count(*) FROM usage_ledger WHERE subscription_id = $1 AND metered_at IS NULL) AS unmetered,
                (SELECT sum(records_added) FROM subscription_runs WHERE subscription_id = $1 AND status = 'succeeded') AS runs_added,
                (SELECT sum(records_removed) FROM subscription_runs WHERE subscription_id = $1 AND status = 'succeeded') AS runs_removed,
                (SELECT count(*) FROM subscription_runs WHERE subscription_id = $1 AND status = 'succeeded' AND records_added > 0) AS runs_with_adds`,
        [s.subscriptionId],
      );
      const l = r.rows[0]!;
      return Number(l.unmetered) === 0 ? l : null;
    }, 120_000).catch((e: Error) => e);
    if (ledger instanceof Error) {
      judge('charged once, as delivered', ledger.message);
    } else {
      const months = (await pool.query<{ month: string }>('SELECT DISTINCT month FROM usage_ledger WHERE subscription_id = $1', [s.subscriptionId])).rows.map((r) => r.month);
      let viaApi = 0;
      for (const month of months) {
        const u = await persist('usage', async () => (await s.consumer.http()).call<{ subscriptions?: Array<{ subscriptionId: string; records: number }> }>('GET', `/v1/billing/usage?month=${month}&subscription=${s.subscriptionId}`), 60_000);
        viaApi += u.subscriptions?.find((x) => x.subscriptionId === s.subscriptionId)?.records ?? 0;
      }
      const charged = Number(ledger.records ?? 0);
      const added = Number(ledger.runs_added ?? 0);
      const delivered = added - Number(ledger.runs_removed ?? 0);
      const problems = [
        Number(ledger.entries) !== Number(ledger.runs_with_adds) ? `${ledger.entries} ledger entries for ${ledger.runs_with_adds} runs that added records` : null,
        charged !== added ? `${charged} records charged, runs added ${added}` : null,
        viaApi !== charged ? `usage API says ${viaApi} records, the ledger ${charged}` : null,
        delivered !== rows.length ? `runs added − removed = ${delivered}, the cleanroom holds ${rows.length}` : null,
      ].filter((p): p is string => p !== null);
      judge('charged once, as delivered', problems.length ? problems.join('; ') : null);
    }
  } catch (e) {
    judge('delivered rows licensed, exactly', (e as Error).message);
  }
  lap('delivery');
  judge('nothing stuck', settled);
  return { violations, held, timing };
}

async function runCount(pool: ReturnType<typeof createPool>, subscriptionId: string): Promise<number> {
  const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM subscription_runs WHERE subscription_id = $1 AND status <> 'running'`, [subscriptionId]);
  return Number(r.rows[0]!.n);
}

// ---- the driver ----------------------------------------------------------------------------------------------------

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.say;
  const started = Date.now();
  const rand = lcg(opts.seed);
  const env = process.env as Record<string, string>;
  const catalog: CatalogCredentials = {
    uri: `${env.ATOLL_API_URL}/iceberg`,
    tokenUrl: `${env.ATOLL_KEYCLOAK_URL}/realms/${env.ATOLL_REALM}/protocol/openid-connect/token`,
    clientId: env.ATOLL_OPERATOR_CLIENT_ID!,
    clientSecret: env.ATOLL_OPERATOR_CLIENT_SECRET!,
  };
  // Reading the control plane's bookkeeping directly (runs and ledger are not all listed by the API).
  const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'atoll-chaos' });
  const tally = new Map<Invariant, { checks: number; held: number }>(INVARIANTS.map((i) => [i, { checks: 0, held: 0 }]));
  const faults: FaultRecord[] = [];
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const disk = await mountWriterTmpfs(say);
  const kinds = (opts.kinds ?? FAULT_KINDS).filter((k) => disk || k !== 'fill-writer-disk');
  let workload: Workload | null = null;
  try {
    say(`seed ${opts.seed}; setting up (provider, 40 licensed subjects, ${DEVICE_USERS.length} devices, a consumer's subscription)`);
    const initial: Record_[] = USERS.map((u, i) => ({ user_id: u, seq: i + 1, amount: 1 }));
    const s = await setUp(env, suffix, initial);
    const w = new Workload(s, suffix, rand);
    workload = w;
    w.acked.push(...initial);
    const record = (c: Checked) => {
      for (const inv of INVARIANTS) tally.get(inv)!.checks++;
      for (const inv of c.held) tally.get(inv)!.held++;
    };
    const plan = faultPlan(opts.faults, rand, kinds);
    const [gapMin, gapMax] = opts.gapMs ?? [2_000, 6_000];
    const revokable = USERS.filter((u) => !DEVICE_USERS.includes(u));
    w.start();
    for (const [i, kind] of plan.entries()) {
      await sleep(gapMin + rand() * (gapMax - gapMin));
      const t0 = Date.now();
      say(`fault ${i + 1}/${plan.length}: ${kind}`);
      await inject(kind, rand, say);
      const collateral = await recover(kind);
      const recoveryMs = Date.now() - t0;
      await sleep(2_000); // the workload meets the recovered system
      await w.pause();
      if (opts.revokeEvery && (i + 1) % opts.revokeEvery === 0 && w.revoked.size < 8) {
        const user = revokable.find((u) => !w.revoked.has(u))!;
        await persist(`revoke ${user}`, async () => (await s.provider.http()).call('DELETE', `/v1/licenses/${s.licenses[user]}`), 120_000);
        w.revoked.add(user);
        say(`    revoked ${user}'s license`);
      }
      const c0 = Date.now();
      const checked = await check(s, w, catalog, pool);
      record(checked);
      faults.push({ n: i + 1, kind, atMs: t0 - started, recoveryMs, collateral, checkMs: Date.now() - c0, timing: checked.timing, records: w.acked.length, violations: checked.violations });
      const t = checked.timing;
      say(`    recovered in ${(recoveryMs / 1000).toFixed(1)} s${collateral.length ? ` (also down: ${collateral.join(', ')})` : ''}; checked in ${((Date.now() - c0) / 1000).toFixed(0)} s (settle ${(t.settle / 1000).toFixed(0)}, engines ${(t.engines / 1000).toFixed(0)}, run ${(t.run / 1000).toFixed(0)}, delivery ${(t.delivery / 1000).toFixed(0)}); ${w.acked.length} records; ${checked.violations.length ? `VIOLATED: ${checked.violations.join(' | ')}` : 'every invariant held'}`);
      w.resume();
    }
    await w.stop();
    workload = null;
    say('final check');
    const last = await check(s, w, catalog, pool);
    record(last);
    const invariants = INVARIANTS.map((invariant) => ({ invariant, ...tally.get(invariant)! }));
    return {
      seed: opts.seed,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      faults,
      invariants,
      workload: { ...w.counts, recordsAcknowledged: w.acked.length, revokedSubjects: w.revoked.size },
      diskFaults: disk ? 'tmpfs' : 'unavailable',
      final: last.violations,
      ok: invariants.every((i) => i.held === i.checks),
    };
  } finally {
    if (workload) await workload.stop().catch(() => {});
    await ensureServices([...serviceNames], { say: () => {} }).catch(() => {});
    if (disk) await unmountWriterTmpfs().catch((e: Error) => say(`could not unmount the writer's tmpfs: ${e.message}`));
    await pool.end();
  }
}

/** The report as the table `npm run chaos` prints. */
export function formatReport(r: ChaosReport): string {
  const byKind = new Map<string, { n: number; recovery: number[]; violated: number }>();
  for (const f of r.faults) {
    const k = byKind.get(f.kind) ?? { n: 0, recovery: [], violated: 0 };
    k.n++;
    k.recovery.push(f.recoveryMs);
    if (f.violations.length) k.violated++;
    byKind.set(f.kind, k);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const lines = [
    `chaos: seed ${r.seed}, ${r.faults.length} faults in ${(r.durationMs / 60_000).toFixed(1)} min, disk faults: ${r.diskFaults}`,
    '',
    '| fault | injected | median recovery | checks with a violation |',
    '|---|---|---|---|',
    ...[...byKind].map(([k, v]) => `| ${k} | ${v.n} | ${(median(v.recovery) / 1000).toFixed(1)} s | ${v.violated} |`),
    '',
    '| invariant | checks | held |',
    '|---|---|---|',
    ...r.invariants.map((i) => `| ${i.invariant} | ${i.checks} | ${i.held} |`),
    '',
    `workload: ${r.workload.recordsAcknowledged} records acknowledged (${r.workload.providerBatches} provider batches, ${r.workload.deviceBatches} device batches, ${r.workload.bulkFiles} bulk files), ${r.workload.runTriggers} run triggers, ${r.workload.failedAttempts} attempts failed during faults and were retried, ${r.workload.revokedSubjects} licenses revoked`,
    ...r.faults.filter((f) => f.violations.length).map((f) => `fault ${f.n} (${f.kind}): ${f.violations.join(' | ')}`),
    ...r.final.map((v) => `final check: ${v}`),
    r.ok ? 'every invariant held' : 'INVARIANTS VIOLATED',
  ];
  return lines.join('\n');
}
