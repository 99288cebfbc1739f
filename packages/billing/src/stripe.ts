// Billing's side of Stripe: a customer per consumer, a meter and a metered price per currency, a Stripe subscription
// per (consumer, currency), each ledger entry sent as a meter event whose identifier is the entry id (a resend is a
// no-op at Stripe), and a month closed per consumer into a finalized invoice. The ledger stays the truth: nothing here
// runs inside a delivery, and Stripe being down only delays what the reconciler sends next time.
import type { Pool } from 'pg';
import Stripe from 'stripe';
import type { Logger } from '@atoll/log';
import { monthOf, toMicros } from './month.js';

export interface StripeOptions {
  /** e.g. http://127.0.0.1:12111 (stripe-mock) or https://api.stripe.com */
  apiBase: string;
  secretKey: string;
  timeoutMs?: number;
}

/** The official client pointed at `apiBase`; no retries of its own (the reconciler retries). */
export function stripeClient(o: StripeOptions): Stripe {
  const u = new URL(o.apiBase);
  return new Stripe(o.secretKey, {
    host: u.hostname,
    port: u.port || (u.protocol === 'https:' ? 443 : 80),
    protocol: u.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 0,
    timeout: o.timeoutMs ?? 10_000,
    telemetry: false,
  });
}

/** The meter of one currency counts millionths of its major unit; its price is 0.0001 minor units per count. */
export const meterEventName = (currency: string) => `atoll_usage_${currency}`;
const MICRO_PRICE_IN_MINOR_UNITS = '0.0001';

export interface ReconcileResult {
  sent: number;
  failed: number;
  pending: number;
}

interface PendingEntry {
  id: string;
  consumer_id: string;
  currency: string;
  amount: string;
  created_at: Date;
}

export class StripeBilling {
  constructor(private readonly o: { pool: Pool; stripe: Stripe; log: Logger; concurrency?: number }) {}

  /** A Stripe object made once under a deterministic key; a concurrent or repeated maker reuses the first one. */
  private async once(kind: 'customer' | 'meter' | 'price' | 'subscription', key: string, make: () => Promise<string>): Promise<string> {
    const known = await this.o.pool.query<{ stripe_id: string }>('SELECT stripe_id FROM stripe_objects WHERE kind = $1 AND key = $2', [kind, key]);
    if (known.rows[0]) return known.rows[0].stripe_id;
    const id = await make();
    await this.o.pool.query('INSERT INTO stripe_objects (kind, key, stripe_id) VALUES ($1, $2, $3) ON CONFLICT (kind, key) DO NOTHING', [kind, key, id]);
    const stored = await this.o.pool.query<{ stripe_id: string }>('SELECT stripe_id FROM stripe_objects WHERE kind = $1 AND key = $2', [kind, key]);
    return stored.rows[0]!.stripe_id;
  }

  /** The consumer's Stripe customer (made lazily: approval never waits for Stripe). */
  customer(consumerId: string): Promise<string> {
    return this.once('customer', consumerId, async () => {
      const { rows } = await this.o.pool.query<{ name: string }>('SELECT name FROM consumers WHERE id = $1', [consumerId]);
      const c = await this.o.stripe.customers.create({ name: rows[0]?.name ?? consumerId, metadata: { atoll_consumer: consumerId } }, { idempotencyKey: `atoll-customer-${consumerId}` });
      return c.id;
    });
  }

  meter(currency: string): Promise<string> {
    return this.once('meter', currency, async () => {
      const m = await this.o.stripe.billing.meters.create(
        {
          display_name: `Atoll records delivered (${currency.toUpperCase()}, millionths)`,
          event_name: meterEventName(currency),
          default_aggregation: { formula: 'sum' },
          customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
          value_settings: { event_payload_key: 'value' },
        },
        { idempotencyKey: `atoll-meter-${currency}` },
      );
      return m.id;
    });
  }

  price(currency: string): Promise<string> {
    return this.once('price', currency, async () => {
      const meter = await this.meter(currency);
      const p = await this.o.stripe.prices.create(
        {
          currency,
          unit_amount_decimal: MICRO_PRICE_IN_MINOR_UNITS,
          recurring: { interval: 'month', usage_type: 'metered', meter },
          product_data: { name: `Atoll data delivery (${currency.toUpperCase()})` },
          billing_scheme: 'per_unit',
        },
        { idempotencyKey: `atoll-price-${currency}` },
      );
      return p.id;
    });
  }

  subscription(consumerId: string, currency: string): Promise<string> {
    return this.once('subscription', `${consumerId}:${currency}`, async () => {
      const [customer, price] = [await this.customer(consumerId), await this.price(currency)];
      const s = await this.o.stripe.subscriptions.create({ customer, items: [{ price }], metadata: { atoll_consumer: consumerId } }, { idempotencyKey: `atoll-sub-${consumerId}-${currency}` });
      return s.id;
    });
  }

  /**
   * Sends every ledger entry Stripe has not acknowledged (oldest first, up to `limit`) as a meter event. An entry is
   * marked metered only after Stripe answered; a failure is counted and tried again on the next pass.
   */
  async reconcile(opts: { limit?: number } = {}): Promise<ReconcileResult> {
    const { rows } = await this.o.pool.query<PendingEntry>(
      'SELECT id, consumer_id, currency, amount::text AS amount, created_at FROM usage_ledger WHERE metered_at IS NULL ORDER BY created_at LIMIT $1',
      [opts.limit ?? 10_000],
    );
    let sent = 0;
    let failed = 0;
    let next = 0;
    // One lookup per consumer and pass, not per event (a failed lookup is forgotten so the next event retries it).
    const memo = new Map<string, Promise<string>>();
    const once = (key: string, make: () => Promise<string>): Promise<string> => {
      let p = memo.get(key);
      if (!p) {
        p = make();
        memo.set(key, p);
        p.catch(() => memo.delete(key));
      }
      return p;
    };
    // Acknowledged entries are marked in batches: a crash before the mark only means a resend, which Stripe ignores
    // (same identifier).
    let acked: string[] = [];
    const flush = async () => {
      if (acked.length === 0) return;
      const ids = acked;
      acked = [];
      await this.o.pool.query('UPDATE usage_ledger SET metered_at = now(), meter_attempts = meter_attempts + 1, meter_error = NULL WHERE id = ANY($1::uuid[])', [ids]);
    };
    const worker = async () => {
      for (;;) {
        const e = rows[next++];
        if (!e) return;
        try {
          await once(`sub:${e.consumer_id}:${e.currency}`, () => this.subscription(e.consumer_id, e.currency));
          const customer = await once(`cus:${e.consumer_id}`, () => this.customer(e.consumer_id));
          await this.o.stripe.billing.meterEvents.create({
            event_name: meterEventName(e.currency),
            identifier: e.id,
            timestamp: Math.floor(e.created_at.getTime() / 1000),
            payload: { stripe_customer_id: customer, value: toMicros(e.amount).toString() },
          });
          acked.push(e.id);
          if (acked.length >= 200) await flush();
          sent++;
        } catch (err) {
          failed++;
          const message = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 500) : String(err);
          await this.o.pool.query('UPDATE usage_ledger SET meter_attempts = meter_attempts + 1, meter_error = $2 WHERE id = $1', [e.id, message]);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 8, Math.max(1, rows.length)) }, worker));
    await flush();
    const pending = await this.o.pool.query<{ n: string }>('SELECT count(*) AS n FROM usage_ledger WHERE metered_at IS NULL');
    const result = { sent, failed, pending: Number(pending.rows[0]!.n) };
    if (sent + failed > 0) this.o.log.info({ op: 'billing.meter.reconciled', ...result }, 'meter events sent to Stripe');
    if (failed > 0) this.o.log.warn({ op: 'billing.meter.failed', failed }, 'Stripe did not acknowledge some meter events; the next pass resends them');
    return result;
  }

  /**
   * Closes every month before `now`'s that still has charges without an invoice, oldest first. The daily schedule runs
   * this, so a consumer skipped because some of its entries had not reached Stripe yet is invoiced on a later day instead
   * of never (a once-a-month close of only the previous month would pass over it for good).
   */
  async closeDueMonths(now: Date = new Date()): Promise<Array<{ month: string; consumerId: string; currency: string; invoiceId: string | null; reason?: string }>> {
    const { rows } = await this.o.pool.query<{ month: string }>(
      `SELECT DISTINCT l.month FROM usage_ledger l
       WHERE l.month < $1 AND NOT EXISTS (SELECT 1 FROM billing_invoices i WHERE i.consumer_id = l.consumer_id AND i.currency = l.currency AND i.month = l.month)
       ORDER BY 1`,
      [monthOf(now)],
    );
    const out: Array<{ month: string; consumerId: string; currency: string; invoiceId: string | null; reason?: string }> = [];
    for (const { month } of rows) for (const r of await this.closeMonth(month)) out.push({ month, ...r });
    return out;
  }

  /**
   * Closes `month` for every consumer and currency with charges: once every entry of it reached Stripe, a finalized
   * Stripe invoice is made (idempotently) and its id recorded. Consumers with unsent entries wait for the next pass.
   */
  async closeMonth(month: string): Promise<Array<{ consumerId: string; currency: string; invoiceId: string | null; reason?: string }>> {
    const { rows } = await this.o.pool.query<{ consumer_id: string; currency: string; amount: string; unsent: string }>(
      `SELECT l.consumer_id, l.currency, sum(l.amount)::text AS amount, count(*) FILTER (WHERE l.metered_at IS NULL) AS unsent
       FROM usage_ledger l
       WHERE l.month = $1 AND NOT EXISTS (SELECT 1 FROM billing_invoices i WHERE i.consumer_id = l.consumer_id AND i.currency = l.currency AND i.month = l.month)
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [month],
    );
    const out: Array<{ consumerId: string; currency: string; invoiceId: string | null; reason?: string }> = [];
    for (const r of rows) {
      if (Number(r.unsent) > 0) {
        out.push({ consumerId: r.consumer_id, currency: r.currency, invoiceId: null, reason: `${r.unsent} entries not yet acknowledged by Stripe` });
        continue;
      }
      try {
        const customer = await this.customer(r.consumer_id);
        const subscription = await this.subscription(r.consumer_id, r.currency);
        const key = `atoll-invoice-${r.consumer_id}-${r.currency}-${month}`;
        const draft = await this.o.stripe.invoices.create(
          { customer, subscription, currency: r.currency, auto_advance: false, metadata: { atoll_consumer: r.consumer_id, atoll_month: month, atoll_amount: r.amount } },
          { idempotencyKey: key },
        );
        const final = await this.o.stripe.invoices.finalizeInvoice(draft.id!, {}, { idempotencyKey: `${key}-finalize` });
        await this.o.pool.query(
          `INSERT INTO billing_invoices (consumer_id, currency, month, amount, stripe_invoice_id, status) VALUES ($1, $2, $3, $4::numeric, $5, $6)
           ON CONFLICT (consumer_id, currency, month) DO NOTHING`,
          [r.consumer_id, r.currency, month, r.amount, final.id, final.status ?? 'open'],
        );
        out.push({ consumerId: r.consumer_id, currency: r.currency, invoiceId: final.id! });
      } catch (err) {
        out.push({ consumerId: r.consumer_id, currency: r.currency, invoiceId: null, reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) });
      }
    }
    this.o.log.info({ op: 'billing.month.closed', month, invoices: out.filter((o) => o.invoiceId).length, waiting: out.filter((o) => !o.invoiceId).length }, 'billing month closed');
    return out;
  }
}
