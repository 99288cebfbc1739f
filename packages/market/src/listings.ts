// The consumer side's answers as the api sends them (SPEC §6): plain shapes with no imports, so the portal can import
// these types (and only types) without pulling server code into the browser bundle or its type check.
export interface DatasetListing {
  name: string;
  columns: Array<{ name: string; type: string }>;
  records: number;
  price: { amount: number; currency: string } | null;
  minCohort: number;
}

export interface SubscriptionRun {
  id: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  recordsAdded: number | null;
  recordsRemoved: number | null;
  snapshotId: string | null;
  reason: string | null;
  error: string | null;
}

export interface SubscriptionView {
  id: string;
  status: string;
  table: string;
  cleanroomId: string;
  datasets: string[];
  runs: SubscriptionRun[];
}

export interface CleanroomListing {
  id: string;
  name: string;
  bucket: string;
  createdAt: string;
}

export interface SubscriptionListing {
  id: string;
  status: string;
  table: string;
  cleanroomId: string;
  datasets: string[];
  createdAt: string;
}

/** A buyer's application as its applicant and the operators read it. */
export interface ConsumerApplication {
  id: string;
  name: string;
  status: 'pending' | 'approved' | 'rejected';
  useCase: { category: string; description: string };
  /** Why an operator rejected the application or withdrew the approval; null otherwise. */
  reason: string | null;
  createdAt: string;
  decidedAt: string | null;
}
