// The web portal in a real browser (issue 14): people sign in at Keycloak (authorization code + PKCE) and use the
// public API through the portal. A buyer applies with its use case and sees it pending; an operator approves it; that
// consumer browses datasets, creates a cleanroom, is refused by the SQL gate and by the cohort minimum, estimates,
// buys, sees the run, the usage chart over several days and subscriptions, the month's total and its invoice; a
// provider sees its upload and a rejected file with the reason, a revocation and the erasure it caused, and its payouts. Every page passes axe-core without serious violations, runs
// under the api's CSP without a violation, and is photographed into test/artifacts/. Expired sessions, the wrong role,
// a consumer that is not approved and a network failure each get a clear message.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { billingJobs } from '@atoll/billing';
import { createPool } from '@atoll/db';
import { Producer, redisConnection } from '@atoll/queue';
import { ObjectStore } from '@atoll/storage';
import { api, env, newConsumer, operator, providerWithTable, uniq } from './support/actors.js';
import { waitUntil, type CleanroomKey } from '@atoll/stack';
import { approveAgreement, delegate, duckdbWithCleanroomKey, nextRun, runNow, tidsOf, upload, waitPublished, type Http } from './support/market.js';
import { completeOtpIfAsked, launch, openTab, screenshot, seriousViolations, signInThroughPortal, textOf, type PortalTab } from './support/portal-browser.js';
import { newPerson, realmAdmin, signIn, type Person } from './support/step-up.js';

const API = env.ATOLL_API_URL!;
const SUBJECTS = 30;
const users = Array.from({ length: SUBJECTS }, (_, i) => `portal-user-${String(i).padStart(2, '0')}`);

let op: Http;
let provider: { id: string; http: Http; dataset: string };
/** The buyer's organisation: its person applies through the portal (PUT /v1/consumers/me) before any row exists. */
const consumerId = randomUUID();
const useCase = `Basket analysis of licensed purchase events (${uniq()})`;
let buyer: Person;
/** The buyer person's own API session, signed in afresh (tokens are short-lived): for what the test does beside the page. */
const buyerApi = async (): Promise<Http> => api.withToken((await signIn(buyer)).accessToken);
let firstSubscription: string;
/** The buyer's API key as the operator's page showed it once at approval (the PyIceberg snippet reads through it). */
let buyerKey: { clientId: string; clientSecret: string };
const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../packages/iceberg/interop/', import.meta.url));
let licenses: Array<{ id: string; tid: string }>;
let browser: Browser & AsyncDisposable;
const people: Person[] = [];

async function person(role: 'operator' | 'provider' | 'consumer', org: string): Promise<Person> {
  // Keycloak's admin tokens live 60 s: a fresh admin session for each person.
  const p = await newPerson(await realmAdmin(), { role, org });
  people.push(p);
  return p;
}

/** axe-core and the CSP on the page as it is now, then its screenshot. */
async function checkPage(tab: PortalTab, name: string): Promise<void> {
  expect(await seriousViolations(tab.page), `accessibility of ${name}`).toEqual([]);
  expect(tab.faults, `CSP violations or page errors on ${name}`).toEqual([]);
  await screenshot(tab.page, name);
}

const visit = async (page: Page, hash: string, heading: string | RegExp) => {
  await page.goto(`${API}/portal/#${hash}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
};

beforeAll(async () => {
  const res = await fetch(`${API}/portal/`);
  if (res.status !== 200) throw new Error(`the api does not serve the portal (HTTP ${res.status}): build it (npm run build -w @atoll/portal) and restart the api`);
  op = await operator();
  provider = await providerWithTable(op);
  await op.call('PUT', `/v1/datasets/${provider.dataset}/price`, { body: { perRecord: { amount: 0.05, currency: 'usd' } } });
  await approveAgreement(op, provider);
  const tid = await tidsOf(provider, users);
  licenses = await delegate(provider, users.map((u) => tid[u]!), ['events'], [{ usecases: ['analytics'], destinations: ['*'] }]);
  // Two records a subject: 60 records; 10 subjects bought "buy" twice over (value 100+) — a filter under the cohort.
  await upload(provider, 'events', users.flatMap((u, i) => [
    { user_id: u, kind: 'view', value: i },
    { user_id: u, kind: 'buy', value: i < 10 ? 100 + i : i },
  ]));
  await waitPublished((await newConsumer(op)).http, provider.dataset, SUBJECTS * 2);
  browser = await launch();
}, 600_000);

afterAll(async () => {
  await browser?.[Symbol.asyncDispose]();
  await Promise.allSettled(people.map(async (p) => p[Symbol.asyncDispose]()));
});

describe('the portal', () => {
  it('serves the built app with a strict CSP, hidden from the OpenAPI document', async () => {
    const res = await fetch(`${API}/portal/`);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    const script = /src="(\/portal\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeTruthy();
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const js = await fetch(`${API}${script}`);
    expect(js.status).toBe(200);
    // Budget (issue 14): no page over 200 KB of script gzipped. One bundle serves every page.
    const gzipped = gzipSync(Buffer.from(await js.arrayBuffer()), { level: 9 }).length;
    expect(gzipped).toBeLessThan(200 * 1024);
    const config = (await (await fetch(`${API}/portal/config.json`)).json()) as Record<string, unknown>;
    expect(config).toEqual({ keycloakUrl: env.ATOLL_KEYCLOAK_URL, realm: env.ATOLL_REALM, clientId: 'atoll-portal', stepUpAcr: 'mfa', stepUpMaxAgeSeconds: expect.any(Number) as number });
    const doc = (await (await fetch(`${API}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/portal'))).toEqual([]);
  });

  it('a buyer applies with its use case, is told what is wrong with a bad application, and sees it pending', async () => {
    buyer = await person('consumer', consumerId);
    const tab = await openTab(browser);
    const { page } = tab;
    await signInThroughPortal(page, API, buyer, '#/application');
    await page.getByRole('heading', { level: 1, name: 'Application' }).waitFor();
    await textOf(page.getByRole('main'), /has not applied yet/);
    await page.getByLabel('Organisation name').fill(`Portal buyer ${uniq()}`);
    await page.getByLabel('Use case category').selectOption('analytics');
    // Bad input: a description too short for the API; the page says what is wrong and nothing is filed.
    await page.getByLabel(/What you will do with the data/).fill('too short');
    await page.getByRole('button', { name: 'Send application' }).click();
    await textOf(page.getByRole('alert').filter({ hasText: 'Your application was not sent' }), /fewer than 10 characters.*Code: VALIDATION_FAILED/);
    expect((await op.call<{ consumers: Array<{ id: string }> }>('GET', '/v1/consumers')).consumers.some((c) => c.id === consumerId)).toBe(false);
    await checkPage(tab, 'consumer-application-refused');
    await page.getByLabel(/What you will do with the data/).fill(useCase);
    await page.getByRole('button', { name: 'Send application' }).click();
    await textOf(page.getByTestId('application-status'), /^Pending: an operator has not decided yet/);
    await checkPage(tab, 'consumer-application-pending');
    // Not approved yet: buying pages say so and lead back to the application.
    await visit(page, '/datasets', 'Datasets');
    await textOf(page.getByRole('alert'), /Your organisation is waiting for approval.*not approved/);
    await page.getByRole('link', { name: 'See your application and its state' }).waitFor();
    await tab.context.close();
  }, 120_000);

  it('an operator signs in and approves the buyer, seeing its use case', async () => {
    const tab = await openTab(browser);
    await tab.page.goto(`${API}/portal/`);
    await tab.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await checkPage(tab, 'signed-out');
    const operatorPerson = await person('operator', 'operator');
    await signInThroughPortal(tab.page, API, operatorPerson, '#/buyers');
    await tab.page.getByRole('heading', { level: 1, name: 'Buyers' }).waitFor();
    const card = tab.page.getByRole('article').filter({ hasText: useCase });
    await card.waitFor();
    await checkPage(tab, 'operator-buyers');
    // Keyboard: the first Tab stop skips to the content, and the approval is given with the keyboard alone.
    await tab.page.keyboard.press('Tab');
    expect(await tab.page.locator(':focus').textContent()).toBe('Skip to content');
    await tab.page.keyboard.press('Enter');
    expect(await tab.page.locator(':focus').getAttribute('id')).toBe('main');
    await card.getByRole('button', { name: /^Approve / }).focus();
    await tab.page.keyboard.press('Enter');
    await tab.page.getByRole('status').filter({ hasText: 'is approved' }).waitFor();
    await tab.page.getByText(`consumer-${consumerId}`).waitFor();
    // The secret sits behind a disclosure, shown once for the operator to hand over.
    const secretCode = tab.page.locator('details code');
    expect(await secretCode.isVisible()).toBe(false);
    await tab.page.getByText('Show the client secret').click();
    buyerKey = { clientId: `consumer-${consumerId}`, clientSecret: (await secretCode.textContent())!.trim() };
    expect(buyerKey.clientSecret.length).toBeGreaterThan(16);
    const { consumers } = await op.call<{ consumers: Array<{ id: string; status: string }> }>('GET', '/v1/consumers?status=approved');
    expect(consumers.find((c) => c.id === consumerId)?.status).toBe('approved');

    await visit(tab.page, '/health', 'System health');
    await tab.page.getByTestId('health-status').filter({ hasText: 'ready' }).waitFor();
    await checkPage(tab, 'operator-health');
    await visit(tab.page, '/dataset-settings', /Prices/);
    await checkPage(tab, 'operator-settings');

    // A payment setting: refused without a fresh second factor; the page offers the step-up, Keycloak asks for the
    // one-time code, and the same change then goes through.
    const setShare = async () => {
      await tab.page.getByLabel('Provider id').fill(provider.id);
      await tab.page.getByLabel(/share \(0 to 1\)/).fill('0.65');
      await tab.page.getByRole('button', { name: 'Set revenue share' }).click();
    };
    await setShare();
    await tab.page.getByRole('alert').filter({ hasText: 'Confirm with your one-time code' }).waitFor();
    await checkPage(tab, 'operator-step-up-required');
    await tab.page.getByRole('button', { name: 'Sign in again with your one-time code' }).click();
    await tab.page.waitForURL((u) => !u.pathname.startsWith('/portal/'));
    await completeOtpIfAsked(tab.page, operatorPerson, true);
    await tab.page.getByRole('heading', { level: 1, name: /Prices/ }).waitFor();
    await setShare();
    await tab.page.getByRole('status').filter({ hasText: 'The revenue share saved.' }).waitFor();
    expect((await provider.http.call<{ share: string }>('GET', '/v1/payouts?month=2020-01')).share).toBe('0.65');
    await tab.context.close();
  }, 180_000);

  it('a consumer signs in, is refused by the gate and the cohort, estimates, buys, and sees the run and the usage chart', async () => {
    const tab = await openTab(browser);
    const { page } = tab;
    await signInThroughPortal(page, API, buyer, '#/application');
    await textOf(page.getByTestId('application-status'), /^Approved: your organisation can buy data/);
    await checkPage(tab, 'consumer-application-approved');
    await visit(page, '/datasets', 'Datasets');
    const row = page.getByRole('row').filter({ hasText: provider.dataset });
    await row.waitFor();
    await textOf(row.getByRole('cell').nth(1), String(SUBJECTS * 2));
    await checkPage(tab, 'consumer-datasets');

    await visit(page, '/cleanrooms', 'Cleanrooms');
    await page.getByLabel('New cleanroom name').fill('portal room');
    await page.getByRole('button', { name: 'Create cleanroom' }).click();
    const secret = page.getByTestId('cleanroom-secret');
    await secret.waitFor({ timeout: 120_000 });
    const shown = async (id: string) => (await page.getByTestId(id).textContent())!.trim();
    const key: CleanroomKey = {
      endpoint: await shown('cleanroom-endpoint'),
      region: await shown('cleanroom-region'),
      bucket: await shown('cleanroom-bucket'),
      accessKeyId: await shown('cleanroom-key-id'),
      secretAccessKey: await shown('cleanroom-secret'),
    };
    expect(key.secretAccessKey.length).toBeGreaterThan(16);
    await checkPage(tab, 'consumer-cleanroom-created');
    await page.getByRole('button', { name: /I have copied it/ }).click();
    expect(await page.getByTestId('cleanroom-secret').count()).toBe(0);

    await page.getByRole('link', { name: 'Estimate & buy' }).click();
    const sql = page.getByLabel(/SQL filter/);
    await sql.waitFor();
    await sql.fill(`SELECT * FROM read_csv('/etc/passwd')`);
    await page.getByRole('button', { name: 'Estimate' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'The SQL gate refused this query' });
    await refusal.waitFor({ timeout: 120_000 });
    await checkPage(tab, 'consumer-estimate-refused');

    await sql.fill(`SELECT * FROM ${provider.dataset} WHERE value >= 100`);
    await page.getByRole('button', { name: 'Estimate' }).click();
    await page.getByRole('alert').filter({ hasText: 'cohort too small' }).waitFor({ timeout: 120_000 });
    await textOf(page.getByRole('alert'), /25/);
    await checkPage(tab, 'consumer-estimate-cohort');

    await sql.fill(`SELECT * FROM ${provider.dataset}`);
    await page.getByRole('button', { name: 'Estimate' }).click();
    await textOf(page.getByTestId('estimate-records'), String(SUBJECTS * 2), 120_000);
    await textOf(page.getByTestId('estimate-subjects'), String(SUBJECTS));
    await textOf(page.getByTestId('estimate-price'), '$3.00');
    await page.getByRole('table').filter({ hasText: 'tid' }).waitFor();
    await checkPage(tab, 'consumer-estimate');

    await page.getByRole('button', { name: /Buy subscription/ }).click();
    await page.waitForURL(/#\/subscriptions\/[0-9a-f-]{36}$/);
    firstSubscription = /([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const runs = page.getByTestId('runs');
    await runs.getByRole('row').filter({ hasText: 'succeeded' }).waitFor({ timeout: 180_000 });
    await textOf(runs.getByRole('row').filter({ hasText: 'succeeded' }).getByRole('cell').nth(3), String(SUBJECTS * 2));
    // The DuckDB snippet's query, run by stock DuckDB (the pinned interop venv) with the key the portal showed once.
    const duckSnippet = (await page.getByRole('figure').filter({ hasText: 'DuckDB' }).locator('code').textContent())!;
    const query = duckSnippet.split('\n').find((l) => l.startsWith('SELECT'))!.replace(/;$/, '');
    expect(query).toBe(`SELECT * FROM iceberg_scan('s3://${key.bucket}/delivery') LIMIT 10`);
    const [read] = await duckdbWithCleanroomKey(key, [query]);
    expect(read && 'rows' in read ? read.rows.length : read).toBe(10);
    expect(read && 'rows' in read ? Object.keys(read.rows[0]!).sort() : []).toEqual(['kind', 'tid', 'value']);
    // The PyIceberg snippet as the page shows it, run by the pinned PyIceberg (ensure-venv.mjs) with the API key the
    // operator handed over: it reads the delivered table through the catalog with vended credentials.
    const pySnippet = (await page.getByRole('figure').filter({ hasText: 'PyIceberg' }).locator('code').textContent())!;
    const python = (await run(process.execPath, [join(INTEROP_DIR, 'ensure-venv.mjs')], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
    const py = await run(python, ['-c', pySnippet], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ATOLL_CLIENT_ID: buyerKey.clientId, ATOLL_CLIENT_SECRET: buyerKey.clientSecret }, timeout: 120_000 });
    expect(py.stdout).toMatch(/^pyarrow\.Table\n/);
    expect(py.stdout).toMatch(/\ntid: (large_)?string( not null)?\n/);
    expect(py.stdout).toMatch(/\nkind: (large_)?string( not null)?\n/);
    // The table's values: ten pseudonyms, one per row read (`tid: [["…","…",…]]`).
    const tids = /^tid: \[\[(.*)\]\]$/m.exec(py.stdout)?.[1] ?? '';
    expect(tids.match(/"[0-9a-f]+"/g)).toHaveLength(10);
    expect(py.stdout).not.toContain(buyerKey.clientSecret);
    await checkPage(tab, 'consumer-subscription');
    await page.getByRole('button', { name: 'Pause' }).click();
    await textOf(page.getByTestId('subscription-status'), 'paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await textOf(page.getByTestId('subscription-status'), 'active');

    // A second subscription (the 30 "view" records, into table views) bought through the API by the same person, and
    // the first one's run moved to an earlier day of this month: the test cannot wait for days to pass, so it writes
    // that history into subscription_runs. The charges stay as recorded (this month's ledger).
    const buyerHttp = await buyerApi();
    const { cleanrooms } = await buyerHttp.call<{ cleanrooms: Array<{ id: string }> }>('GET', '/v1/cleanrooms');
    const estimate = await buyerHttp.call<{ id: string }>('POST', '/v1/estimates', { body: { cleanroomId: cleanrooms[0]!.id, table: 'views', sql: `SELECT * FROM ${provider.dataset} WHERE kind = 'view'` } });
    const second = await buyerHttp.call<{ id: string }>('POST', '/v1/subscriptions', { body: { estimateId: estimate.id } });
    expect(await nextRun(buyerHttp, second.id, 0)).toMatchObject({ status: 'succeeded', recordsAdded: SUBJECTS });
    const now = new Date();
    // The month's first day has no earlier day in the same month: then both runs fall on one day.
    const earlier = now.getUTCDate() === 1 ? new Date(now.getTime() - 60_000) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1, 6));
    const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 1, applicationName: 'portal-test' });
    try {
      const moved = await pool.query('UPDATE subscription_runs SET started_at = $2, finished_at = $2 WHERE subscription_id = $1 AND records_added > 0', [firstSubscription, earlier]);
      expect(moved.rowCount).toBe(1);
    } finally {
      await pool.end();
    }
    // The month closes into a Stripe invoice (stripe-mock), as the billing worker does on the 1st. A consumer whose
    // ledger entries have not all reached Stripe yet (the reconciler resends on its schedule) waits for the next pass, so
    // the test asks for the close again until the invoice is there; a consumer already invoiced is skipped.
    const month = now.toISOString().slice(0, 7);
    const redis = redisConnection(env.ATOLL_REDIS_URL!);
    const producer = new Producer(redis);
    let polls = 0;
    const invoice = await waitUntil(
      'the invoice',
      async () => {
        if (polls++ % 20 === 0) await producer.enqueue(billingJobs.billing, { v: 1, task: 'close-month', month, nonce: randomUUID() });
        return (await buyerHttp.call<{ invoices?: Array<{ invoiceId: string; amount: string }> }>('GET', `/v1/billing/usage?month=${month}`)).invoices?.[0];
      },
      180_000,
    ).finally(async () => {
      await producer.close();
      redis.disconnect();
    });
    expect(invoice.amount).toBe('4.5');

    await visit(page, '/billing', 'Billing');
    const chart = page.locator('figure.chart svg[role="img"]');
    await chart.waitFor();
    const bars = chart.locator('rect[data-day]');
    const days = new Set(await Promise.all((await bars.all()).map(async (b) => b.getAttribute('data-day'))));
    expect(days.size).toBe(now.getUTCDate() === 1 ? 1 : 2);
    expect(days.has(earlier.toISOString().slice(0, 10))).toBe(true);
    expect(await bars.count()).toBe(2);
    expect(await page.locator('figure.chart .legend li').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('views')]));
    expect(await page.locator('figure.chart .legend li').count()).toBe(2);
    await textOf(page.getByTestId('month-total'), /\$4\.50 for 90 records/);
    await textOf(page.getByRole('table', { name: 'Per subscription' }).getByRole('row').filter({ hasText: 'views' }), /views30\$1\.50/);
    await textOf(page.getByTestId('invoices'), new RegExp(`${invoice.invoiceId}: \\$4\\.50`));
    await checkPage(tab, 'consumer-billing');

    // The wrong role: an operator page says so, with no data and no crash.
    await visit(page, '/buyers', 'Buyers');
    await textOf(page.getByRole('alert'), /This page is for the operator role/);
    await checkPage(tab, 'consumer-wrong-role');

    // A network error from the API: the page says so.
    await page.route('**/v1/datasets', (r) => r.abort('internetdisconnected'));
    await visit(page, '/datasets', 'Datasets');
    await textOf(page.getByRole('alert'), /could not be reached \(network error\)/);
    await page.unroute('**/v1/datasets');
    await checkPage(tab, 'consumer-network-error');

    // An expired session: a clear message and a way to sign in again, no blank page.
    await page.evaluate(() => {
      const store = (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).sessionStorage;
      const s = JSON.parse(store.getItem('atoll.portal.session') ?? '{}') as { expiresAt: number };
      store.setItem('atoll.portal.session', JSON.stringify({ ...s, expiresAt: Date.now() - 1000 }));
    });
    await page.reload();
    await textOf(page.getByRole('alert'), /Your session has expired/);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await checkPage(tab, 'session-expired');
    await tab.context.close();
  }, 600_000);

  it('a provider sees its upload, a rejected file with the reason, license counts and a revocation', async () => {
    const creds = await provider.http.call<{ endpoint: string; region: string; bucket: string; prefix: string; accessKeyId: string; secretAccessKey: string }>('POST', '/v1/bulk-credentials');
    const store = new ObjectStore({ endpoint: creds.endpoint, region: creds.region, accessKey: creds.accessKeyId, secretKey: creds.secretAccessKey });
    const file = `events/portal-bad-${uniq()}.csv`;
    await store.putObject(creds.bucket, `${creds.prefix}${file}`, 'user_id,kind,value\nportal-user-00,view,not-a-number\n');
    const tab = await openTab(browser, { width: 390, height: 844 });
    await signInThroughPortal(tab.page, API, await person('provider', provider.id), '#/ingests');
    const rejected = tab.page.getByTestId('ingests').getByRole('row').filter({ hasText: file });
    for (let i = 0; i < 60 && !(await rejected.filter({ hasText: 'rejected' }).count()); i++) {
      await tab.page.waitForTimeout(2000);
      await tab.page.getByRole('button', { name: 'Refresh' }).click();
    }
    await textOf(rejected, /rejected/);
    await textOf(rejected, /line 2, column value/);
    // The API upload of beforeAll: loaded, 60 rows read and 60 loaded.
    await textOf(tab.page.getByTestId('ingests').getByRole('row').filter({ hasText: 'API upload' }), /API upload [0-9a-f]{8}loaded6060/);
    await checkPage(tab, 'provider-ingests-mobile');

    // License counts and a revocation (after the consumer's delivery above, so it changes nothing there).
    await provider.http.call('DELETE', `/v1/licenses/${licenses[0]!.id}`);
    // The consumer's next run removes the subject's two records from its cleanroom: an erasure record.
    expect(await runNow(await buyerApi(), firstSubscription)).toMatchObject({ status: 'succeeded', recordsRemoved: 2 });
    await visit(tab.page, '/licenses', 'Licenses');
    await textOf(tab.page.getByTestId('licenses-live'), String(SUBJECTS - 1));
    await textOf(tab.page.getByTestId('licenses-revoked'), '1');
    await textOf(tab.page.getByTestId('revocations'), new RegExp(licenses[0]!.tid));
    await textOf(tab.page.getByTestId('erasures').getByRole('row').filter({ hasText: licenses[0]!.tid }), new RegExp(`${consumerId}2`));
    await checkPage(tab, 'provider-licenses-mobile');
    // Payouts: the 0.65 share the operator set, of 3 records a subject (2 in the first subscription, 1 in "views") at $0.05.
    await visit(tab.page, '/payouts', 'Payouts');
    await textOf(tab.page.getByRole('main'), /Your share of charges: 65\.00 %/);
    await textOf(tab.page.getByRole('row').filter({ hasText: licenses[1]!.tid }), new RegExp(`${licenses[1]!.tid}3\\$0\\.0975`));
    await checkPage(tab, 'provider-payouts-mobile');
    await tab.context.close();
  }, 300_000);

  it('a provider proposes a schema, an operator rejects it with a reason, and the provider reads the reason', async () => {
    const table = `portal_${uniq()}`;
    const providerTab = await openTab(browser);
    await signInThroughPortal(providerTab.page, API, await person('provider', provider.id), '#/schemas');
    await providerTab.page.getByRole('heading', { level: 1, name: 'Schemas' }).waitFor();
    await providerTab.page.getByLabel('Table', { exact: true }).fill(table);
    await providerTab.page.getByLabel(/Dataset name/).fill(`${table}_ds`);
    await providerTab.page.getByLabel(/Columns, one per line/).fill('user_id string user_id\nplan string\nspend decimal(10,2)');
    await providerTab.page.getByRole('button', { name: 'Propose schema' }).click();
    await textOf(providerTab.page.getByTestId('schemas').getByRole('row').filter({ hasText: table }), /pending/);
    await checkPage(providerTab, 'provider-schemas');

    const operatorTab = await openTab(browser);
    await signInThroughPortal(operatorTab.page, API, await person('operator', 'operator'), '#/pending-schemas');
    const card = operatorTab.page.getByRole('article').filter({ hasText: table });
    await textOf(card, /spend decimal\(10,2\)/);
    await checkPage(operatorTab, 'operator-schemas');
    await card.getByRole('button', { name: `Reject ${table}` }).click();
    await textOf(operatorTab.page.getByRole('status'), new RegExp(`Give a reason before rejecting ${table}`));
    await card.getByLabel(`Reason to reject ${table}`).fill('spend must be a long in cents');
    await card.getByRole('button', { name: `Reject ${table}` }).click();
    await textOf(operatorTab.page.getByRole('status'), new RegExp(`${table} \\(${table}_ds\\) is rejected`));
    await operatorTab.context.close();

    await providerTab.page.reload();
    await textOf(providerTab.page.getByTestId('schemas').getByRole('row').filter({ hasText: table }), /rejectedspend must be a long in cents/);
    await providerTab.context.close();
  }, 180_000);

  it('a consumer person whose organisation is not approved gets the API\'s refusal as a message, then reads the rejection and its reason', async () => {
    const pending = (await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `Pending ${uniq()}`, useCase: { category: 'analytics', description: 'waiting for the operator' } } })).id;
    const tab = await openTab(browser);
    await signInThroughPortal(tab.page, API, await person('consumer', pending), '#/datasets');
    await textOf(tab.page.getByRole('alert'), /Your organisation is waiting for approval.*not approved/);
    await checkPage(tab, 'consumer-not-approved');
    // The operator rejects it with a reason; the Application page shows the state and the reason, and offers to apply again.
    await op.call('POST', `/v1/consumers/${pending}/reject`, { body: { reason: 'name the stores and the retention period' } });
    await visit(tab.page, '/application', 'Application');
    await textOf(tab.page.getByTestId('application-status'), /^Rejected: your organisation cannot buy data/);
    await textOf(tab.page.getByTestId('application-reason'), /name the stores and the retention period/);
    await tab.page.getByRole('button', { name: 'Send application' }).waitFor();
    await checkPage(tab, 'consumer-application-rejected');
    await tab.context.close();
  }, 120_000);
});
