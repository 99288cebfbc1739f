export { recordRunUsage, DEFAULT_REVENUE_SHARE, type RunUsage } from './ledger.js';
export { monthOf, parseMonth, previousMonth, toMicros } from './month.js';
export { BillingService, type DatasetRevenue, type Payouts, type SubscriptionUsage, type Usage, type Viewer } from './service.js';
export { meterEventName, stripeClient, StripeBilling, type ReconcileResult, type StripeOptions } from './stripe.js';
export { billingJobs, CLOSE_MONTH_SCHEDULER, RECONCILE_SCHEDULER, type BillingJob } from './jobs.js';
