export { approvedConsumer, cohortMinimum, cohortTooSmall, datasetRecords, DEFAULT_MIN_COHORT, licensedSubjects, type ApprovedConsumer, type DatasetRecord } from './delivery.js';
export { computeEstimate, gatedDatasets, type EstimateAnswer, type EstimateContext } from './estimate.js';
export type { CleanroomListing, DatasetListing, SubscriptionListing, SubscriptionRun, SubscriptionView } from './listings.js';
export { erasuresOf, Market, type Erasure, type MarketOptions } from './market.js';
export { monthlyUpdateRate, quote, recordsAddedRecently, type Quote } from './pricing.js';
export { provisionCleanroom, withdrawCleanroomKeys, type CleanroomKey, type ProvisionContext } from './provision.js';
export { columnTypeFromDuck, resultSchema } from './result-schema.js';
export { runSubscription, type RunContext, type RunOutcome } from './subscription-run.js';
export { subscriptionWatermarks } from './watermarks.js';
