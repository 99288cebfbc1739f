// Prometheus metrics of the api; operation names match the log `op` fields.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'atoll_api_' });
  const httpDuration = new Histogram({
    name: 'atoll_api_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const uploadsAccepted = new Counter({ name: 'atoll_api_upload_records_total', help: 'Records accepted by POST /v1/uploads', registers: [registry] });
  return { registry, httpDuration, uploadsAccepted };
}

export type ApiMetrics = ReturnType<typeof createMetrics>;
