// Rate limits per caller, registered once for every route (@fastify/rate-limit, fixed windows): per API key in Redis
// so the limit holds across api replicas; per device token and per anonymous IP in each replica's memory, so the
// device upload and token paths pay no Redis round trip for it. Over the limit: 429 RATE_LIMITED with Retry-After.
import { createRequire } from 'node:module';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AtollError } from '@atoll/errors';
import type { Config } from '../deps.js';

type Counted = { current: number; ttl: number };
type Done = (err: Error | null, res?: Counted) => void;
interface CounterStore {
  incr(key: string, done: Done, timeWindow: number, max: number): void;
  read(key: string, done: Done, timeWindow: number, max: number): void;
}
type StoreClass = new (...args: unknown[]) => CounterStore;

// The plugin's own stores (no package export names them): its LRU-bounded in-memory counter and its Lua INCR+PEXPIRE.
const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreClass;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreClass;

/** Counts `client:` keys in Redis and every other key in memory; one store, so the plugin's one hook serves both. */
function tieredStore(redis: Redis): FastifyRateLimitStoreCtor {
  return class TieredStore implements CounterStore {
    private readonly shared = new RedisStore(false, false, redis, 'atoll:rate:');
    // 20,000 most recently seen devices/IPs per replica; an evicted one restarts its window (limits are a backstop).
    private readonly local = new LocalStore(false, false, 20_000);
    private pick(key: string): CounterStore {
      return key.startsWith('client:') ? this.shared : this.local;
    }
    incr(key: string, done: Done, timeWindow: number, max: number): void {
      this.pick(key).incr(key, done, timeWindow, max);
    }
    read(key: string, done: Done, timeWindow: number, max: number): void {
      this.pick(key).read(key, done, timeWindow, max);
    }
    child(): this {
      return this;
    }
  };
}

const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/** Who a request counts against: its authenticated principal (set by the route's onRequest hook), else its IP. */
export function rateLimitKey(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind === 'client') return `client:${p.clientId}`;
  if (p?.kind === 'device') return `device:${p.deviceId}`;
  return `ip:${request.ip}`;
}

export async function registerRateLimits(app: FastifyInstance, config: Config, redis: Redis): Promise<void> {
  const maxFor = (key: string): number =>
    key.startsWith('client:') ? config.ATOLL_RATE_LIMIT_CLIENT_MAX : key.startsWith('device:') ? config.ATOLL_RATE_LIMIT_DEVICE_MAX : config.ATOLL_RATE_LIMIT_ANONYMOUS_MAX;
  await app.register(rateLimit, {
    global: true,
    // After the routes' onRequest auth hooks, so the principal is known; before validation, so bad bodies count too.
    hook: 'preValidation',
    timeWindow: config.ATOLL_RATE_LIMIT_WINDOW_MS,
    max: (_request, key) => maxFor(key),
    keyGenerator: rateLimitKey,
    store: tieredStore(redis),
    allowList: (request) => UNLIMITED.has(request.routeOptions.url ?? ''),
    // A Redis blip must not take the api down with it: the request goes through uncounted.
    skipOnError: true,
    // No x-ratelimit-* headers on allowed requests: three headers per response cost measurable throughput on the
    // device paths (bench/rate-limit.bench.ts); a refused request still gets them and Retry-After.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    onExceeded: (request, key) => request.log.info({ op: 'http.rate_limited', kind: key.slice(0, key.indexOf(':')) }, 'rate limit exceeded'),
    errorResponseBuilder: (_request, context) =>
      new AtollError('RATE_LIMITED', `at most ${context.max} requests per ${config.ATOLL_RATE_LIMIT_WINDOW_MS / 1000} s; retry after ${Math.ceil(context.ttl / 1000)} s`, {
        details: { limit: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
      }),
  });
}
