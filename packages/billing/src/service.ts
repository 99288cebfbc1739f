// Billing as the api offers it (SPEC §6): usage per month for consumers, providers and operators, payouts per
// subject for providers, revenue shares set by operators, and Stripe's webhooks (signature verified, no replays).
import type { Pool } from 'pg';
import Stripe from 'stripe';
import { AtollError } from '@atoll/errors';
import { DEFAULT_REVENUE_SHARE } from './ledger.js';
import { parseMonth } from './month.js';

export type Viewer = { role: 'consumer' | 'provider'; orgId: string } | { role: 'operator' };

export interface SubscriptionUsage {
  subscriptionId: string;
  consumerId: string;
  table: string;
  records: number;
  amount: string;
  currency: string;
}

export interface DatasetRevenue {
  dataset: string;
  providerId: string;
  records: number;
  /** What consumers were charged for it. */
  gross: string;
  /** The provider's part (its payouts). */
  revenue: string;
  currency: string;
}

export interface Usage {
  month: string;
  subscriptions?: SubscriptionUsage[];
  totals?: Array<{ currency: string; amount: string; records: number }>;
  invoices?: Array<{ consumerId: string; currency: string; invoiceId: string; amount: string; status: string }>;
  datasets?: DatasetRevenue[];
  /** Operator only: charges = payouts + platform, per currency. */
  balance?: Array<{ currency: string; charges: string; payouts: string; platform: string }>;
}

export interface Payouts {
  month: string;
  providerId: string;
  share: string;
  payouts: Array<{ tid: string; records: number; amount: string; currency: string }>;
  totals: Array<{ currency: string; amount: string }>;
}

/** Decimal text without trailing zeros ("1.160000" → "1.16"). */
const dec = (sql: string) => `trim_scale(${sql})::text`;

export class BillingService {
  constructor(private readonly o: { pool: Pool; webhookSecret?: string | undefined; webhookToleranceSec?: number }) {}

  async usage(viewer: Viewer, input: { month: unknown; subscriptionId?: string | undefined }): Promise<Usage> {
    const month = parseMonth(input.month);
    const out: Usage = { month };
    if (viewer.role === 'consumer' || viewer.role === 'operator') {
      const consumer = viewer.role === 'consumer' ? viewer.orgId : null;
      if (input.subscriptionId) {
        const owned = await this.o.pool.query('SELECT 1 FROM subscriptions WHERE id = $1 AND ($2::uuid IS NULL OR consumer_id = $2)', [input.subscriptionId, consumer]);
        // Another consumer's subscription is indistinguishable from none.
        if (owned.rowCount !== 1) throw new AtollError('NOT_FOUND', `no subscription ${input.subscriptionId}`);
      }
      const subs = await this.o.pool.query<{ subscription_id: string; consumer_id: string; table_name: string; records: string; amount: string; currency: string }>(
        `SELECT l.subscription_id, l.consumer_id, s.table_name, sum(l.records) / count(DISTINCT l.dataset) AS records, ${dec('sum(l.amount)')} AS amount, l.currency
         FROM usage_ledger l JOIN subscriptions s ON s.id = l.subscription_id
         WHERE l.month = $1 AND ($2::uuid IS NULL OR l.consumer_id = $2) AND ($3::uuid IS NULL OR l.subscription_id = $3)
         GROUP BY 1, 2, 3, 6 ORDER BY 2, 3, 1`,
        [month, consumer, input.subscriptionId ?? null],
      );
      out.subscriptions = subs.rows.map((r) => ({ subscriptionId: r.subscription_id, consumerId: r.consumer_id, table: r.table_name, records: Number(r.records), amount: r.amount, currency: r.currency }));
      // Records charged: each delivered record once, however many datasets priced it.
      const totals = await this.o.pool.query<{ currency: string; amount: string; records: string }>(
        `SELECT currency, ${dec('sum(amount)')} AS amount, (SELECT coalesce(sum(r), 0) FROM (SELECT max(records) AS r FROM usage_ledger x WHERE x.month = $1 AND ($2::uuid IS NULL OR x.consumer_id = $2) AND ($3::uuid IS NULL OR x.subscription_id = $3) AND x.currency = l.currency GROUP BY run_id) q) AS records
         FROM usage_ledger l WHERE month = $1 AND ($2::uuid IS NULL OR consumer_id = $2) AND ($3::uuid IS NULL OR subscription_id = $3) GROUP BY currency ORDER BY currency`,
        [month, consumer, input.subscriptionId ?? null],
      );
      out.totals = totals.rows.map((r) => ({ currency: r.currency, amount: r.amount, records: Number(r.records) }));
      const invoices = await this.o.pool.query<{ consumer_id: string; currency: string; stripe_invoice_id: string; amount: string; status: string }>(
        `SELECT consumer_id, currency, stripe_invoice_id, ${dec('amount')} AS amount, status FROM billing_invoices WHERE month = $1 AND ($2::uuid IS NULL OR consumer_id = $2) ORDER BY consumer_id, currency`,
        [month, consumer],
      );
      out.invoices = invoices.rows.map((r) => ({ consumerId: r.consumer_id, currency: r.currency, invoiceId: r.stripe_invoice_id, amount: r.amount, status: r.status }));
    }
    if (viewer.role === 'provider' || viewer.role === 'operator') {
      const provider = viewer.role === 'provider' ? viewer.orgId : null;
      const ds = await this.o.pool.query<{ dataset: string; provider_id: string; records: string; gross: string; revenue: string; currency: string }>(
        `SELECT l.dataset, l.provider_id, sum(l.records) AS records, ${dec('sum(l.amount)')} AS gross,
                ${dec('coalesce(sum((SELECT sum(p.amount) FROM payout_ledger p WHERE p.entry_id = l.id)), 0)')} AS revenue, l.currency
         FROM usage_ledger l WHERE l.month = $1 AND ($2::uuid IS NULL OR l.provider_id = $2)
         GROUP BY 1, 2, 6 ORDER BY 1, 6`,
        [month, provider],
      );
      out.datasets = ds.rows.map((r) => ({ dataset: r.dataset, providerId: r.provider_id, records: Number(r.records), gross: r.gross, revenue: r.revenue, currency: r.currency }));
    }
    if (viewer.role === 'operator') out.balance = await this.balance(month);
    return out;
  }

  /** Charges, payouts and the platform's part per currency: exact decimals, so charges = payouts + platform. */
  async balance(month: string): Promise<Array<{ currency: string; charges: string; payouts: string; platform: string }>> {
    const { rows } = await this.o.pool.query<{ currency: string; charges: string; payouts: string; platform: string }>(
      `WITH c AS (SELECT currency, sum(amount) AS charges FROM usage_ledger WHERE month = $1 GROUP BY 1),
            p AS (SELECT currency, sum(amount) AS payouts FROM payout_ledger WHERE month = $1 GROUP BY 1)
       SELECT c.currency, ${dec('c.charges')} AS charges, ${dec('coalesce(p.payouts, 0)')} AS payouts, ${dec('c.charges - coalesce(p.payouts, 0)')} AS platform
       FROM c LEFT JOIN p USING (currency) ORDER BY 1`,
      [month],
    );
    return rows;
  }

  async payouts(providerId: string, input: { month: unknown }): Promise<Payouts> {
    const month = parseMonth(input.month);
    const { rows } = await this.o.pool.query<{ tid: string; records: string; amount: string; currency: string }>(
      `SELECT tid, sum(records) AS records, ${dec('sum(amount)')} AS amount, currency FROM payout_ledger WHERE provider_id = $1 AND month = $2 GROUP BY tid, currency ORDER BY tid, currency`,
      [providerId, month],
    );
    const totals = await this.o.pool.query<{ currency: string; amount: string }>(
      `SELECT currency, ${dec('sum(amount)')} AS amount FROM payout_ledger WHERE provider_id = $1 AND month = $2 GROUP BY currency ORDER BY currency`,
      [providerId, month],
    );
    return {
      month,
      providerId,
      share: await this.revenueShare(providerId),
      payouts: rows.map((r) => ({ tid: r.tid, records: Number(r.records), amount: r.amount, currency: r.currency })),
      totals: totals.rows,
    };
  }

  async revenueShare(providerId: string): Promise<string> {
    const { rows } = await this.o.pool.query<{ share: string }>(`SELECT ${dec('share')} AS share FROM revenue_shares WHERE provider_id = $1`, [providerId]);
    return rows[0]?.share ?? DEFAULT_REVENUE_SHARE;
  }

  /** Sets a provider's share of future charges (0..1, at most 4 decimals); charges already made keep theirs. */
  async setRevenueShare(providerId: string, share: number): Promise<{ providerId: string; share: string }> {
    if (!Number.isFinite(share) || share < 0 || share > 1) throw new AtollError('VALIDATION_FAILED', 'share must be between 0 and 1');
    const text = String(share);
    if (!/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/.test(text)) throw new AtollError('VALIDATION_FAILED', 'share must be between 0 and 1 with at most 4 decimals');
    const exists = await this.o.pool.query('SELECT 1 FROM providers WHERE id = $1', [providerId]);
    if (exists.rowCount !== 1) throw new AtollError('NOT_FOUND', `no provider ${providerId}`);
    await this.o.pool.query(
      `INSERT INTO revenue_shares (provider_id, share) VALUES ($1, $2::numeric) ON CONFLICT (provider_id) DO UPDATE SET share = EXCLUDED.share, updated_at = now()`,
      [providerId, text],
    );
    return { providerId, share: await this.revenueShare(providerId) };
  }

  /**
   * A Stripe webhook: the signature over the raw body must verify with the endpoint secret and be recent (Stripe's
   * tolerance), and an event id is accepted once. Invoice events update the recorded invoice's status.
   */
  async webhook(rawBody: Buffer, signature: string | undefined): Promise<{ received: true; type: string }> {
    if (!this.o.webhookSecret) throw new AtollError('DEPENDENCY_UNAVAILABLE', 'no Stripe webhook secret is configured');
    if (!signature) throw new AtollError('WEBHOOK_SIGNATURE_INVALID', 'the Stripe-Signature header is missing');
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(rawBody, signature, this.o.webhookSecret, this.o.webhookToleranceSec ?? 300);
    } catch (e) {
      throw new AtollError('WEBHOOK_SIGNATURE_INVALID', e instanceof Error ? e.message.split('\n')[0] : undefined);
    }
    const fresh = await this.o.pool.query('INSERT INTO stripe_webhook_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [event.id, event.type]);
    if (fresh.rowCount !== 1) throw new AtollError('WEBHOOK_REPLAYED', `event ${event.id} was already received`);
    if (event.type.startsWith('invoice.')) {
      const invoice = event.data.object as Stripe.Invoice;
      if (invoice.id && invoice.status) await this.o.pool.query('UPDATE billing_invoices SET status = $2 WHERE stripe_invoice_id = $1', [invoice.id, invoice.status]);
    }
    return { received: true, type: event.type };
  }
}
