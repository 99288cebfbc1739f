// Billing routes (SPEC §6, issue 10): usage per month, payouts per subject, revenue shares, Stripe webhooks. The rules
// and the ledger live in @atoll/billing; the Stripe side (meter events, invoices) runs in the cleanroom worker.
import type { FastifyPluginAsync } from 'fastify';
import { BillingService } from '@atoll/billing';
import type { ApiDeps, Config } from '../../deps.js';
import { payoutsRoute } from './payouts.js';
import { revenueShareRoute } from './revenue-share.js';
import { usageRoute } from './usage.js';
import { webhookRoute } from './webhook.js';

export function billingRoutes(config: Config, deps: ApiDeps): FastifyPluginAsync {
  const billing = new BillingService({ pool: deps.pool, webhookSecret: config.ATOLL_STRIPE_WEBHOOK_SECRET });
  return async (app) => {
    await app.register(usageRoute(deps, billing));
    await app.register(payoutsRoute(deps, billing));
    await app.register(revenueShareRoute(config, deps, billing));
    await app.register(webhookRoute(billing));
  };
}
