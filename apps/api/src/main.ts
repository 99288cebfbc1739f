// Entry point of the api: validate config, build the app, listen, shut down gracefully.
import { ApiConfigSchema, loadConfig } from '@atoll/config';
import { migrate } from '@atoll/db';
import { createLogger } from '@atoll/log';
import { onShutdown } from '@atoll/runtime';
import { checkVendedCredentialsRole, VendedCredentialsRoleError } from '@atoll/storage';
import { buildApp } from './app.js';
import { createDeps } from './deps.js';

const config = loadConfig(ApiConfigSchema);
const log = createLogger({ name: 'api', level: config.ATOLL_LOG_LEVEL });
const deps = createDeps(config);
// A key the vended-credentials role was not made for fails here, once, rather than on every Iceberg table load.
try {
  await checkVendedCredentialsRole(deps.storageAdmin, config.ATOLL_S3_ACCESS_KEY);
} catch (e) {
  if (e instanceof VendedCredentialsRoleError) {
    log.error({ op: 'api.start.refused', role: e.role, accessKey: e.apiUser }, e.message);
    await deps.close();
    process.exit(1);
  }
  // The server not answering yet is no configuration error: /readyz reports it, and the catalog retries per request.
  log.warn({ op: 'storage.vended.unchecked', err: e instanceof Error ? e.message : String(e) }, 'could not check the vended-credentials role at start-up');
}
// Every replica migrates at start; an advisory lock makes exactly one of them apply each migration.
const applied = await migrate(deps.pool);
if (applied.length > 0) log.info({ op: 'db.migrations.applied', applied }, 'migrations applied');
const app = await buildApp(config, deps, { logger: log });
await app.listen({ host: config.ATOLL_API_HOST, port: config.ATOLL_API_PORT });
log.info({ op: 'api.started', url: config.ATOLL_API_URL }, 'api listening');

onShutdown({
  log,
  timeoutMs: config.ATOLL_SHUTDOWN_TIMEOUT_MS,
  close: async () => {
    await app.close();
    await deps.close();
  },
});
