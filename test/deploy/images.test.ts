// The container images, proven without a Docker engine: the Dockerfiles' structure (targets, non-root user, health
// checks, pins), and the exact entry points the images run — the esbuild bundles of deploy/build-apps.mjs — started
// as plain processes against the running local stack with its configuration: ready, then a clean exit on SIGTERM.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appEnv, initEnv, loadContext, versions, type StackContext } from '@atoll/stack';
import { ObjectStore } from '@atoll/storage';
import { readRepoFile, removeScratch, repo, run, scratch } from './support/deploy.js';

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

function stages(dockerfile: string): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const out: Stage[] = [];
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      out.push({ name: from[2] ?? `stage${out.length}`, from: from[1]!, lines: [] });
    } else if (out.length === 0) {
      const arg = /^ARG\s+([A-Z_]+)=(\S+)/.exec(line);
      if (arg) args[arg[1]!] = arg[2]!;
    } else {
      out.at(-1)!.lines.push(line);
    }
  }
  return { args, stages: out };
}

const resolveFrom = (from: string, args: Record<string, string>) => from.replace(/\$\{([A-Z_]+)\}/g, (_, n: string) => args[n] ?? `\${${n}}`);

describe('Dockerfiles', () => {
  const app = stages(readRepoFile('Dockerfile'));
  const stage = (name: string) => app.stages.find((s) => s.name === name)!;

  it('one multi-stage build with a target per process, the api last (the default target)', () => {
    expect(app.stages.map((s) => s.name)).toEqual(['build', 'orc', 'prod-deps', 'runtime', 'init', 'writer', 'cleanroom', 'api']);
    for (const [target, entry] of [['api', 'api'], ['writer', 'writer'], ['cleanroom', 'cleanroom'], ['init', 'init']]) {
      expect(stage(target!).from).toBe('runtime');
      expect(stage(target!).lines).toContain(`CMD ["dist/${entry}.mjs"]`);
    }
  });

  it('runs as a fixed non-root uid, handles SIGTERM itself, and health-checks the long-running targets', () => {
    const runtime = stage('runtime').lines;
    expect(runtime).toContain('USER 10001:10001');
    expect(runtime).toContain('STOPSIGNAL SIGTERM');
    expect(runtime).toContain('ENTRYPOINT ["node", "--enable-source-maps"]');
    for (const s of ['api', 'writer', 'cleanroom', 'init']) expect(stage(s).lines.some((l) => /^USER/.test(l)), s).toBe(false);
    for (const s of ['api', 'writer', 'cleanroom']) expect(stage(s).lines.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/app/healthcheck.mjs')), s).toBe(true);
    // Code is root-owned (read-only to the app user); only the work directory is the app's.
    expect(runtime.filter((l) => l.startsWith('COPY')).every((l) => l.includes('--chown=0:0'))).toBe(true);
  });

  it('pins every base image by tag, Node 20 as the project requires', () => {
    const node = resolveFrom(app.stages[0]!.from, app.args);
    expect(node).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
    for (const file of ['Dockerfile', 'deploy/minio/Dockerfile', 'deploy/stripe-mock/Dockerfile', 'deploy/keycloak/Dockerfile']) {
      const df = stages(readRepoFile(file));
      for (const s of df.stages) {
        const image = resolveFrom(s.from, df.args);
        if (df.stages.some((other) => other.name === image)) continue;
        const resolved = image.replace(/\$\{([A-Z_]+)\}/g, (_, n: string) => df.args[n] ?? '');
        expect(resolved, `${file}: FROM ${s.from}`).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
        expect(resolved.endsWith(':latest'), file).toBe(false);
      }
    }
  });

  it('the writer carries the ORC converter, built from its locked crates on the Node image\'s Debian release', () => {
    expect(stage('orc').lines.some((l) => l.includes('cargo build --release --locked'))).toBe(true);
    expect(resolveFrom(stage('orc').from, app.args)).toMatch(/^rust:\d+\.\d+\.\d+-slim-bookworm$/);
    const writer = stage('writer').lines;
    expect(writer).toContain('COPY --from=orc --chown=0:0 /atoll-orc-to-parquet /app/bin/atoll-orc-to-parquet');
    expect(writer.some((l) => l.startsWith('ENV') && l.includes('ATOLL_ORC_CONVERTER=/app/bin/atoll-orc-to-parquet'))).toBe(true);
    for (const s of ['api', 'cleanroom', 'init']) expect(stage(s).lines.some((l) => l.includes('orc')), s).toBe(false);
  });

  it('MinIO and stripe-mock are built from source at the pinned versions, run as non-root', () => {
    const minio = readRepoFile('deploy/minio/Dockerfile');
    expect(minio).toContain('go install "github.com/minio/minio@${MINIO_VERSION}"');
    expect(stages(minio).args.MINIO_VERSION).toBe(versions.minio);
    expect(minio).toMatch(/^USER 10002:10002$/m);
    const stripe = readRepoFile('deploy/stripe-mock/Dockerfile');
    expect(stripe).toContain('go install "github.com/stripe/stripe-mock@${STRIPE_MOCK_VERSION}"');
    expect(stages(stripe).args.STRIPE_MOCK_VERSION).toBe(versions.stripeMock);
    expect(stripe).toMatch(/^USER 65534:65534$/m);
    expect(stages(readRepoFile('deploy/keycloak/Dockerfile')).args.KEYCLOAK_VERSION).toBe(versions.keycloak.version);
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignore = readRepoFile('.dockerignore').split('\n');
    for (const p of ['**/node_modules', '.git', '.atoll', '.env', '.env.*']) expect(ignore).toContain(p);
    expect(ignore).toContain('!.env.example');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The bundles the images run, as processes.

const out = join(scratch, 'image');
const bundle = (name: string) => join(out, 'dist', `${name}.mjs`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface Started {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

/** Starts a bundle the way the image does (`node --enable-source-maps dist/<app>.mjs`, cwd /app, nothing else). */
function start(name: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--enable-source-maps', bundle(name)], { cwd: out, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { exit, output: () => text, kill: (s) => child.kill(s) };
}

async function waitForStatus(url: string, status: number, proc: Started, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited = false;
  void proc.exit.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`process exited before ${url} answered ${status}:\n${proc.output().slice(-3000)}`);
    const got = await fetch(url).then((r) => r.status, () => 0);
    if (got === status) return;
    if (Date.now() > until) throw new Error(`${url} never answered ${status} (last ${got}):\n${proc.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

let ctx: StackContext;

beforeAll(async () => {
  const built = await run(process.execPath, [join(repo, 'deploy', 'build-apps.mjs'), '--out', out]);
  if (built.code !== 0) throw new Error(`deploy/build-apps.mjs failed:\n${built.stderr}`);
  // In the image /app/node_modules holds the production dependencies; here the repository's serve.
  mkdirSync(out, { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(out, 'node_modules'));
  ctx = await loadContext({ install: false });
}, 120_000);

afterAll(removeScratch);

describe('the image entry points (esbuild bundles)', () => {
  it.each(['api', 'writer', 'cleanroom', 'init'])('%s loads every module and validates its configuration first', async (name) => {
    const p = start(name, {});
    const { code } = await p.exit;
    expect(code).toBe(1);
    expect(p.output()).toMatch(/invalid configuration|ConfigError/);
    expect(p.output()).toContain('ATOLL_DATABASE_URL');
    expect(p.output()).not.toMatch(/Cannot find (module|package)|ERR_MODULE_NOT_FOUND/);
  });

  it('the api serves /healthz and /readyz with the local stack configuration, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const p = start('api', { ...appEnv(ctx, 'api'), ATOLL_API_PORT: String(port), ATOLL_API_URL: `http://127.0.0.1:${port}`, ATOLL_WORK_DIR: join(scratch, 'work-api') });
    try {
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, p);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // What the image's HEALTHCHECK runs.
      const hc = await run(process.execPath, [join(repo, 'deploy', 'healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', ATOLL_API_PORT: String(port) } });
      expect(hc.code).toBe(0);
    } finally {
      p.kill('SIGTERM');
    }
    const { code, signal } = await p.exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(p.output()).toContain('process.shutdown.done');
  });

  it.each(['writer', 'cleanroom'] as const)('the %s worker becomes ready on its health port and exits 0 on SIGTERM', async (name) => {
    const port = await freePort();
    const env = appEnv(ctx, name);
    // A Redis database of its own: the worker proves it connects without taking jobs from the stack's queues.
    const p = start(name, { ...env, ATOLL_REDIS_URL: `${env.ATOLL_REDIS_URL}/7`, ATOLL_HEALTH_PORT: String(port), ATOLL_WORK_DIR: join(scratch, `work-${name}`) });
    try {
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, p);
      const hc = await run(process.execPath, [join(repo, 'deploy', 'healthcheck.mjs'), 'ready'], { env: { PATH: process.env.PATH ?? '', ATOLL_HEALTH_PORT: String(port) } });
      expect(hc.code).toBe(0);
    } finally {
      p.kill('SIGTERM');
    }
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(p.output()).toContain('process.shutdown.done');
  });

  it('the health check fails when nothing answers', async () => {
    const hc = await run(process.execPath, [join(repo, 'deploy', 'healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', ATOLL_API_PORT: String(await freePort()) } });
    expect(hc.code).toBe(1);
  });

  // init (re)writes the shared stack's service-user policies; the tests below point it at throwaway license buckets,
  // so the stack's own settings are put back afterwards or later tests would lose access to the real bucket.
  afterAll(async () => {
    const p = start('init', { ...initEnv(ctx), ATOLL_WORK_DIR: join(scratch, 'work-init-restore') });
    expect((await p.exit).code, p.output().slice(-2000)).toBe(0);
  });

  it('init creates the Object-Lock license bucket (SSE on) when asked, idempotently', async () => {
    const bucket = `atoll-licenses-t${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = { ...initEnv(ctx), ATOLL_INIT_LICENSE_BUCKET: 'true', ATOLL_BUCKET_LICENSES: bucket, ATOLL_WORK_DIR: join(scratch, 'work-init') };
    const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    try {
      for (let i = 0; i < 2; i++) {
        const p = start('init', env);
        const { code } = await p.exit;
        expect(code, p.output().slice(-2000)).toBe(0);
      }
      const lock = (await (root.client.getObjectLockConfig as (b: string) => Promise<{ objectLockEnabled?: string }>)(bucket)) ?? {};
      expect(lock.objectLockEnabled).toBe('Enabled');
      const sse: unknown = await root.client.getBucketEncryption(bucket);
      expect(JSON.stringify(sse)).toContain('AES256');
    } finally {
      await root.client.removeBucket(bucket).catch(() => undefined);
    }
  });

  it('init leaves the license bucket alone when the flag is off', async () => {
    // The local stack turns the flag on; init's own default is off, which is what this exercises.
    const env: Record<string, string> = { ...initEnv(ctx), ATOLL_INIT_LICENSE_BUCKET: 'false', ATOLL_BUCKET_LICENSES: `atoll-licenses-t${randomBytes(4).toString('hex')}`, ATOLL_WORK_DIR: join(scratch, 'work-init2') };
    const p = start('init', env);
    expect((await p.exit).code, p.output().slice(-2000)).toBe(0);
    const root = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_ROOT_USER!, secretKey: env.ATOLL_S3_ROOT_PASSWORD! });
    expect(await root.bucketExists(env.ATOLL_BUCKET_LICENSES!)).toBe(false);
  });

  it('init refuses a production deployment that still holds .env.example placeholders, naming them', async () => {
    const env = {
      ...initEnv(syntheticLikeProduction()),
      ATOLL_ENV: 'production',
      ATOLL_TID_KEY: 'change-me-tid-key-at-least-32-characters',
      ATOLL_KEYCLOAK_ADMIN_PASSWORD: 'change-me-keycloak-admin',
    };
    const p = start('init', env);
    expect((await p.exit).code).toBe(1);
    expect(p.output()).toContain('refusing to initialise production: ATOLL_KEYCLOAK_ADMIN_PASSWORD, ATOLL_TID_KEY still hold the example placeholder');
    expect(p.output()).not.toContain('change-me-tid-key');
    // The same placeholders outside production are tolerated (laptops) — it gets as far as connecting.
    const dev = start('init', { ...env, ATOLL_ENV: 'development' });
    await dev.exit;
    expect(dev.output()).not.toContain('refusing to initialise');
  });
});

/** initEnv of a stack whose services are nowhere: enough for checks that run before any connection. */
function syntheticLikeProduction(): StackContext {
  return { ...ctx, ports: new Proxy({}, { get: () => 1 }) as StackContext['ports'] };
}
