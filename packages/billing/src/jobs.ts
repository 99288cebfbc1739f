// The billing jobs of the cleanroom worker: the reconciler (resends what Stripe never acknowledged) and the monthly
// close. Both are idempotent; job schedulers repeat them.
import type { JobDefinition } from '@atoll/queue';

export type BillingJob = { v: 1; task: 'reconcile' } | { v: 1; task: 'close-month'; month?: string; nonce?: string };

export const billingJobs = {
  billing: {
    queue: 'billing',
    jobId: (d: BillingJob) => (d.task === 'reconcile' ? 'billing-reconcile' : `billing-close-${d.month ?? 'previous'}-${d.nonce ?? 'once'}`),
    options: { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  } satisfies JobDefinition<BillingJob>,
} as const;

export const RECONCILE_SCHEDULER = 'billing-reconcile';
export const CLOSE_MONTH_SCHEDULER = 'billing-close-month';
