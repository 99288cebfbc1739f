// An api process for the upload crash test: the real app (buildApp + createDeps, the stack's config) on a free port,
// printing "LISTENING <url>" once it serves, so the test can drive uploads at it and SIGKILL it mid-stream.
//   node --import tsx test/support/crash-api.ts
import { ApiConfigSchema, loadConfig } from '@atoll/config';
import { createLogger } from '@atoll/log';
import { buildApp, createDeps } from '@atoll/api';

const env = process.env as Record<string, string>;
const config = loadConfig(ApiConfigSchema, {
  ...env,
  ATOLL_S3_ACCESS_KEY: env.ATOLL_S3_API_ACCESS_KEY,
  ATOLL_S3_SECRET_KEY: env.ATOLL_S3_API_SECRET_KEY,
  ATOLL_API_PORT: '0',
  ATOLL_WORK_DIR: '/tmp/atoll-crash-api',
  ATOLL_LOG_LEVEL: 'warn',
});
const deps = createDeps(config);
const app = await buildApp(config, deps, { logger: createLogger({ name: 'crash-api', level: 'warn' }) });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
// The caches only answer from memory once the change feed listens; wait for it so the test exercises the fast path.
while (!deps.changes.live) await new Promise((r) => setTimeout(r, 20));
process.stdout.write(`LISTENING ${url}\n`);
