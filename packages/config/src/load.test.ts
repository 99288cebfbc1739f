import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, WorkerConfigSchema } from './index.js';

const good = {
  ATOLL_DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/atoll',
  ATOLL_REDIS_URL: 'redis://127.0.0.1:6379',
  ATOLL_S3_ENDPOINT: 'http://127.0.0.1:9000',
  ATOLL_S3_ACCESS_KEY: 'writer',
  ATOLL_S3_SECRET_KEY: 'supersecretvalue',
};

describe('loadConfig', () => {
  it('applies defaults, converts numbers and freezes the result', () => {
    const config = loadConfig(WorkerConfigSchema, { ...good, ATOLL_WORKER_CONCURRENCY: '4' });
    expect(config.ATOLL_WORKER_CONCURRENCY).toBe(4);
    expect(config.ATOLL_BUCKET_LAKE).toBe('atoll-lake');
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { ATOLL_ENV: string }).ATOLL_ENV = 'production';
    }).toThrow(TypeError);
  });

  it('reports every bad variable at once without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig(WorkerConfigSchema, {
        ATOLL_REDIS_URL: 'http://wrong',
        ATOLL_S3_ENDPOINT: 'http://127.0.0.1:9000',
        ATOLL_S3_ACCESS_KEY: 'writer',
        ATOLL_S3_SECRET_KEY: 'short',
        ATOLL_WORKER_CONCURRENCY: 'many',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const vars = (error as ConfigError).issues.map((i) => i.variable).sort();
    expect(vars).toEqual(['ATOLL_DATABASE_URL', 'ATOLL_REDIS_URL', 'ATOLL_S3_SECRET_KEY', 'ATOLL_WORKER_CONCURRENCY']);
    expect((error as Error).message).not.toContain('short');
    expect((error as ConfigError).issues.find((i) => i.variable === 'ATOLL_DATABASE_URL')?.message).toBe('is required');
  });
});
