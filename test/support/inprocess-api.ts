// Builds the api in-process against the running stack (same config the stack's api process gets), for tests that
// exercise routes not yet deployed in the running api process, for the crash test's api child and for the benches.
// Use `app.inject()` or the `url` it listens on (a free loopback port).
import type { FastifyInstance } from 'fastify';
import { ApiConfigSchema, loadConfig, type ApiConfig } from '@atoll/config';
import { createLogger } from '@atoll/log';
import { buildApp, createDeps, type ApiDeps } from '@atoll/api';

export interface InProcessApi extends AsyncDisposable {
  app: FastifyInstance;
  config: ApiConfig;
  deps: ApiDeps;
  url: string;
}

export interface InProcessApiOptions {
  /** The stack's variables when the process did not load them (benches pass the stack's env file); over process.env. */
  env?: Record<string, string>;
  /** The logger's name; the work directory is /tmp/atoll-<name>. */
  name?: string;
  /** Resolve only once the change feed listens: the caches answer from memory only then (the upload fast path). */
  waitForChangeFeed?: boolean;
}

export async function startInProcessApi(overrides: Record<string, string> = {}, options: InProcessApiOptions = {}): Promise<InProcessApi> {
  const name = options.name ?? 'test-api';
  const env = { ...process.env, ...options.env } as Record<string, string>;
  const config = loadConfig(ApiConfigSchema, {
    ...env,
    ATOLL_S3_ACCESS_KEY: env.ATOLL_S3_API_ACCESS_KEY,
    ATOLL_S3_SECRET_KEY: env.ATOLL_S3_API_SECRET_KEY,
    ATOLL_API_PORT: '0',
    ATOLL_WORK_DIR: `/tmp/atoll-${name}`,
    ATOLL_LOG_LEVEL: 'warn',
    ...overrides,
  });
  const deps = createDeps(config);
  const app = await buildApp(config, deps, { logger: createLogger({ name, level: config.ATOLL_LOG_LEVEL }) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  if (options.waitForChangeFeed) await changeFeedLive(deps);
  return {
    app,
    config,
    deps,
    url: address,
    async [Symbol.asyncDispose]() {
      await app.close();
      await deps.close();
    },
  };
}

/** Waits until the api's change feed listens. */
export async function changeFeedLive(deps: ApiDeps): Promise<void> {
  while (!deps.changes.live) await new Promise((r) => setTimeout(r, 20));
}
