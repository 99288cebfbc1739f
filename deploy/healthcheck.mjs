// Container health check for the Atoll images, which have no curl: GET /healthz (or /readyz with the argument
// "ready") on the workers' health port or the api port, exit 0 only on HTTP 200.
/* global fetch, AbortSignal */
const port = process.env.ATOLL_HEALTH_PORT ?? process.env.ATOLL_API_PORT ?? '8080';
const path = process.argv[2] === 'ready' ? '/readyz' : '/healthz';

try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
