// The local stack: provisions and starts PostgreSQL, Redis, MinIO, stripe-mock, Keycloak and the three apps as plain
// processes, health-checks each, writes .atoll/stack.env, and stops exactly what it started.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runOrThrow } from './exec.js';
import { httpOk, portInUse, tcpExchange, waitFor } from './health.js';
import { ensureSeaweedfs, installStack, locateStack, storageKind, type Installed, type StorageKind } from './install.js';
import { paths, repoRoot, stateDir } from './paths.js';
import { resolvePorts, serviceNames, type Ports, type ServiceName } from './ports.js';
import { prepareSeaweed, seaweedHealthy, seaweedPortList, type SeaweedPorts } from './seaweedfs.js';
import { loadOrCreateSecrets, type StackSecrets } from './secrets.js';
import { keycloakAdmin, provisionStepUp } from '@atoll/identity';
import { isAlive, logFile, readPid, startProcess, stopProcess } from './supervisor.js';
import { versions } from './versions.js';

export const REGION = 'us-east-1';
export const OPERATOR_CLIENT_ID = 'atoll-operator';
export const S3_SERVICE_USERS = { api: 'atoll-api', writer: 'atoll-writer', cleanroom: 'atoll-cleanroom' } as const;
/** SeaweedFS takes only letters and digits in an access key. */
const SEAWEED_SERVICE_USERS = { api: 'atollapi', writer: 'atollwriter', cleanroom: 'atollcleanroom' } as const;

export function serviceUsers(storage: StorageKind): Record<keyof typeof S3_SERVICE_USERS, string> {
  return storage === 'seaweedfs' ? SEAWEED_SERVICE_USERS : S3_SERVICE_USERS;
}

/** The stack's S3 server: ATOLL_STORAGE when set, else what the last `up` used, else MinIO. */
export function stackStorage(): StorageKind {
  if (process.env.ATOLL_STORAGE) return storageKind();
  try {
    return storageKind({ ATOLL_STORAGE: readFileSync(paths.storageFile, 'utf8').trim() });
  } catch {
    return 'minio';
  }
}

export interface StackContext {
  storage: StorageKind;
  installed: Installed;
  secrets: StackSecrets;
  ports: Ports;
  postgresRoot: string;
}

type Say = (msg: string) => void;
const defaultSay: Say = (m) => process.stderr.write(`[stack] ${m}\n`);
const isRoot = process.getuid?.() === 0;

async function postgresUser(): Promise<{ uid: number; gid: number } | null> {
  if (!isRoot) return null;
  const uid = Number((await runOrThrow('id', ['-u', 'postgres'])).trim());
  const gid = Number((await runOrThrow('id', ['-g', 'postgres'])).trim());
  return { uid, gid };
}

/** PostgreSQL refuses to run as root; when we are root its data lives where the postgres user can reach it. */
async function choosePostgresRoot(): Promise<string> {
  const preferred = join(paths.dataDir, 'postgres');
  if (!isRoot) return preferred;
  await mkdir(paths.dataDir, { recursive: true });
  const reachable = await run('runuser', ['-u', 'postgres', '--', 'test', '-x', paths.dataDir]);
  if (reachable.code === 0) return preferred;
  const hash = createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
  return `/var/tmp/atoll-postgres-${hash}`;
}

/** Port settings saved by the first `up`, so later `status`/`down` find the stack without the same environment. */
function savedPortEnv(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(paths.portsFile, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

function effectivePortEnv(): Record<string, string | undefined> {
  const fromEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ATOLL_PORT_')));
  return { ...savedPortEnv(), ...fromEnv };
}

/** True when none of the stack's ports for this port environment is taken. */
export async function portsFree(env: Record<string, string | undefined>): Promise<boolean> {
  const ports = Object.values(resolvePorts(env));
  return (await Promise.all(ports.map((p) => portInUse(p)))).every((used) => !used);
}

export async function loadContext(opts: { install: boolean; say?: Say }): Promise<StackContext> {
  const storage = stackStorage();
  const installed = opts.install ? await installStack(opts.say, storage) : locateStack();
  const secrets = await loadOrCreateSecrets();
  const ports = resolvePorts(effectivePortEnv());
  return { storage, installed, secrets, ports, postgresRoot: await choosePostgresRoot() };
}

// ---------------------------------------------------------------------------------------------------------------
// Environment handed to the apps and written for users.

export function urls(ctx: StackContext) {
  const p = ctx.ports;
  return {
    api: `http://127.0.0.1:${p.api}`,
    s3: `http://127.0.0.1:${p.minio}`,
    keycloak: `http://127.0.0.1:${p.keycloak}`,
    stripe: `http://127.0.0.1:${p.stripeMock}`,
    redis: `redis://:${encodeURIComponent(ctx.secrets.redisPassword)}@127.0.0.1:${p.redis}`,
    database: `postgres://atoll_app:${encodeURIComponent(ctx.secrets.postgresAppPassword)}@127.0.0.1:${p.postgres}/atoll`,
  };
}

function commonAppEnv(ctx: StackContext, app: keyof typeof S3_SERVICE_USERS): Record<string, string> {
  const u = urls(ctx);
  const s3Secret = { api: ctx.secrets.s3ApiSecret, writer: ctx.secrets.s3WriterSecret, cleanroom: ctx.secrets.s3CleanroomSecret }[app];
  return {
    ATOLL_ENV: 'development',
    // Set only off the default (MinIO); compose and Helm always set it (a key every app understands).
    ...(ctx.storage === 'minio' ? {} : { ATOLL_STORAGE: ctx.storage }),
    ATOLL_LOG_LEVEL: process.env.ATOLL_LOG_LEVEL ?? 'info',
    ATOLL_DATABASE_URL: u.database,
    ATOLL_REDIS_URL: u.redis,
    ATOLL_S3_ENDPOINT: u.s3,
    ATOLL_S3_REGION: REGION,
    ATOLL_S3_ACCESS_KEY: serviceUsers(ctx.storage)[app],
    ATOLL_S3_SECRET_KEY: s3Secret,
    ATOLL_WORK_DIR: join(stateDir, 'work', app),
  };
}

export function appEnv(ctx: StackContext, app: 'api' | 'writer' | 'cleanroom'): Record<string, string> {
  const u = urls(ctx);
  const env = commonAppEnv(ctx, app);
  if (app === 'api') {
    return {
      ...env,
      ATOLL_API_HOST: '127.0.0.1',
      ATOLL_API_PORT: String(ctx.ports.api),
      ATOLL_API_URL: u.api,
      ATOLL_KEYCLOAK_URL: u.keycloak,
      ATOLL_REALM: 'atoll',
      ATOLL_KEYCLOAK_ADMIN_CLIENT_ID: 'atoll-admin',
      ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET: ctx.secrets.keycloakAdminClientSecret,
      ATOLL_STRIPE_API_BASE: u.stripe,
      ATOLL_STRIPE_WEBHOOK_SECRET: ctx.secrets.stripeWebhookSecret,
      ATOLL_TID_KEY: ctx.secrets.tidKey,
      ATOLL_KEK: ctx.secrets.kek,
    };
  }
  return {
    ...env,
    ATOLL_HEALTH_PORT: String(app === 'writer' ? ctx.ports.writerHealth : ctx.ports.cleanroomHealth),
    ...(app === 'writer' ? { ATOLL_TID_KEY: ctx.secrets.tidKey, ATOLL_ORC_CONVERTER: ctx.installed.orcConverter } : {}),
    // Without bucket notifications (SeaweedFS) the reconciler is how bulk files are found: list staging often locally.
    ...(app === 'writer' && ctx.storage === 'seaweedfs' ? { ATOLL_BULK_RECONCILE_MS: '3000' } : {}),
    // stripe-mock accepts any test key; the reconciler runs every few seconds locally so tests see it catch up.
    ...(app === 'cleanroom' ? { ATOLL_STRIPE_API_BASE: u.stripe, ATOLL_STRIPE_SECRET_KEY: 'sk_test_atoll', ATOLL_BILLING_RECONCILE_MS: '2000' } : {}),
  };
}

/** MinIO's Redis notification target (id ATOLL, set up in the minio service below) that announces staging objects. */
const BULK_NOTIFY_ARN = `arn:minio:sqs:${REGION}:ATOLL:redis`;

/** The environment of the one-shot init (migrations, buckets, MinIO service users). Holds root credentials. */
export function initEnv(ctx: StackContext): Record<string, string> {
  return {
    ...appEnv(ctx, 'api'),
    ATOLL_S3_ROOT_USER: ctx.secrets.minioRootUser,
    ATOLL_S3_ROOT_PASSWORD: ctx.secrets.minioRootPassword,
    ATOLL_INIT_S3_API_SECRET: ctx.secrets.s3ApiSecret,
    ATOLL_INIT_S3_WRITER_SECRET: ctx.secrets.s3WriterSecret,
    ATOLL_INIT_S3_CLEANROOM_SECRET: ctx.secrets.s3CleanroomSecret,
    // The license archive (Object Lock, COMPLIANCE): license creation writes every entry there.
    ATOLL_INIT_LICENSE_BUCKET: 'true',
    // SeaweedFS has no Redis notification target: bulk ingest falls back to the reconciler (docs/storage.md).
    ATOLL_INIT_STAGING_NOTIFY_ARN: ctx.storage === 'minio' ? BULK_NOTIFY_ARN : '',
    // MinIO keeps init's default user names (atoll-api, …); SeaweedFS needs names without dashes.
    ...(ctx.storage === 'seaweedfs'
      ? { ATOLL_INIT_S3_API_USER: serviceUsers(ctx.storage).api, ATOLL_INIT_S3_WRITER_USER: serviceUsers(ctx.storage).writer, ATOLL_INIT_S3_CLEANROOM_USER: serviceUsers(ctx.storage).cleanroom }
      : {}),
  };
}

/** SPEC §1 variables plus what the test suite needs. The file is 0600 and git-ignored: it holds local secrets. */
export function stackEnv(ctx: StackContext): Record<string, string> {
  const u = urls(ctx);
  const users = serviceUsers(ctx.storage);
  return {
    ATOLL_STORAGE: ctx.storage,
    ATOLL_API_URL: u.api,
    ATOLL_S3_ENDPOINT: u.s3,
    ATOLL_S3_REGION: REGION,
    ATOLL_KEYCLOAK_URL: u.keycloak,
    ATOLL_REALM: 'atoll',
    ATOLL_OPERATOR_CLIENT_ID: OPERATOR_CLIENT_ID,
    ATOLL_OPERATOR_CLIENT_SECRET: ctx.secrets.operatorClientSecret,
    ATOLL_REDIS_URL: u.redis,
    ATOLL_DATABASE_URL: u.database,
    ATOLL_STRIPE_API_BASE: u.stripe,
    ATOLL_STRIPE_WEBHOOK_SECRET: ctx.secrets.stripeWebhookSecret,
    ATOLL_S3_ROOT_USER: ctx.secrets.minioRootUser,
    ATOLL_S3_ROOT_PASSWORD: ctx.secrets.minioRootPassword,
    ATOLL_KEYCLOAK_ADMIN_CLIENT_ID: 'atoll-admin',
    ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET: ctx.secrets.keycloakAdminClientSecret,
    ATOLL_S3_API_ACCESS_KEY: users.api,
    ATOLL_S3_API_SECRET_KEY: ctx.secrets.s3ApiSecret,
    ATOLL_S3_WRITER_ACCESS_KEY: users.writer,
    ATOLL_S3_WRITER_SECRET_KEY: ctx.secrets.s3WriterSecret,
    ATOLL_S3_CLEANROOM_ACCESS_KEY: users.cleanroom,
    ATOLL_S3_CLEANROOM_SECRET_KEY: ctx.secrets.s3CleanroomSecret,
    // The in-process api of the tests computes the same TIDs as the writer.
    ATOLL_TID_KEY: ctx.secrets.tidKey,
    // …and opens the same sealed signing keys as the stack's api.
    ATOLL_KEK: ctx.secrets.kek,
    // In-process writers of tests and benchmarks read ORC with the same converter as the stack's writer.
    ATOLL_ORC_CONVERTER: ctx.installed.orcConverter,
  };
}

function shellQuote(v: string): string {
  return `'${v.replaceAll("'", "'\\''")}'`;
}

async function writeStackEnv(ctx: StackContext): Promise<void> {
  const lines = Object.entries(stackEnv(ctx)).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  await writeFile(paths.envFile, `# Written by "npm run stack -- up". Local secrets: do not commit or share.\n${lines.join('\n')}\n`, {
    mode: 0o600,
  });
}

export function readStackEnvFile(file = paths.envFile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]!] = m[2]!.replaceAll("'\\''", "'");
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------------------
// Services.

interface Service {
  name: ServiceName;
  ports: number[];
  healthy(ctx: StackContext): Promise<boolean>;
  start(ctx: StackContext, say: Say): Promise<void>;
  timeoutMs: number;
}

async function psql(ctx: StackContext, db: string, sql: string): Promise<string> {
  return runOrThrow(join(ctx.installed.postgresBin, 'psql'), ['-h', '127.0.0.1', '-p', String(ctx.ports.postgres), '-U', 'atoll_admin', '-d', db, '-tAc', sql], {
    env: { ...process.env, PGPASSWORD: ctx.secrets.postgresSuperPassword },
  });
}

const sqlLiteral = (v: string) => `'${v.replaceAll("'", "''")}'`;

const postgres: Service = {
  name: 'postgres',
  ports: [],
  timeoutMs: 60_000,
  async healthy(ctx) {
    const r = await run(join(ctx.installed.postgresBin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(ctx.ports.postgres), '-t', '2']);
    return r.code === 0;
  },
  async start(ctx, say) {
    const root = ctx.postgresRoot;
    const data = join(root, 'data');
    const owner = await postgresUser();
    await mkdir(root, { recursive: true, mode: 0o700 });
    if (owner) await chown(root, owner.uid, owner.gid);
    if (!existsSync(join(data, 'PG_VERSION'))) {
      say('initialising PostgreSQL data directory');
      const pwfile = join(root, 'pwfile');
      await writeFile(pwfile, `${ctx.secrets.postgresSuperPassword}\n`, { mode: 0o600 });
      if (owner) await chown(pwfile, owner.uid, owner.gid);
      await runOrThrow(join(ctx.installed.postgresBin, 'initdb'), ['-D', data, '-U', 'atoll_admin', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'], {
        ...(owner ?? {}),
      });
      await rm(pwfile, { force: true });
    }
    await startProcess({
      name: 'postgres',
      command: join(ctx.installed.postgresBin, 'postgres'),
      args: ['-D', data, '-p', String(ctx.ports.postgres), '-k', root, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=on',
        // Statement statistics for profiling (docs/performance.md); each role sees its own statements' text.
        '-c', 'shared_preload_libraries=pg_stat_statements'],
      ...(owner ?? {}),
    });
  },
};

async function provisionPostgres(ctx: StackContext): Promise<void> {
  const roles: [string, string][] = [
    ['atoll_app', ctx.secrets.postgresAppPassword],
    ['keycloak', ctx.secrets.postgresKeycloakPassword],
  ];
  for (const [role, password] of roles) {
    const exists = (await psql(ctx, 'postgres', `SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(role)}`)).trim();
    const verb = exists === '1' ? 'ALTER' : 'CREATE';
    await psql(ctx, 'postgres', `${verb} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${sqlLiteral(password)}`);
  }
  for (const [db, owner] of [
    ['atoll', 'atoll_app'],
    ['keycloak', 'keycloak'],
  ] as const) {
    const exists = (await psql(ctx, 'postgres', `SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(db)}`)).trim();
    if (exists !== '1') await psql(ctx, 'postgres', `CREATE DATABASE ${db} OWNER ${owner}`);
    await psql(ctx, db, `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  }
  await psql(ctx, 'atoll', 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
}

const redis: Service = {
  name: 'redis',
  ports: [],
  timeoutMs: 30_000,
  async healthy(ctx) {
    const reply = await tcpExchange(ctx.ports.redis, `AUTH ${ctx.secrets.redisPassword}\r\nPING\r\n`, '+PONG');
    return reply !== null && reply.startsWith('+OK') && reply.includes('+PONG');
  },
  async start(ctx) {
    const dir = join(paths.dataDir, 'redis');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const conf = join(dir, 'redis.conf');
    // The password goes in a 0600 file, not on the command line where `ps` would show it.
    await writeFile(
      conf,
      [
        'bind 127.0.0.1',
        `port ${ctx.ports.redis}`,
        `dir ${dir}`,
        `requirepass ${ctx.secrets.redisPassword}`,
        'appendonly yes',
        'appendfsync everysec',
        'maxmemory-policy noeviction',
        'protected-mode yes',
        'daemonize no',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await startProcess({ name: 'redis', command: ctx.installed.redisServer, args: [conf] });
  },
};

export function seaweedPorts(ports: Ports, spare = false): SeaweedPorts {
  return spare
    ? {
        s3: ports.spareS3,
        s3Grpc: ports.spareSeaweedS3Grpc,
        master: ports.spareSeaweedMaster,
        masterGrpc: ports.spareSeaweedMasterGrpc,
        volume: ports.spareSeaweedVolume,
        volumeGrpc: ports.spareSeaweedVolumeGrpc,
        filer: ports.spareSeaweedFiler,
        filerGrpc: ports.spareSeaweedFilerGrpc,
      }
    : {
        s3: ports.minio,
        s3Grpc: ports.seaweedS3Grpc,
        master: ports.seaweedMaster,
        masterGrpc: ports.seaweedMasterGrpc,
        volume: ports.seaweedVolume,
        volumeGrpc: ports.seaweedVolumeGrpc,
        filer: ports.seaweedFiler,
        filerGrpc: ports.seaweedFilerGrpc,
      };
}

const minioReady = (port: number) => httpOk(`http://127.0.0.1:${port}/minio/health/ready`);

async function startSeaweed(ctx: StackContext, name: string, dir: string, ports: SeaweedPorts): Promise<void> {
  const { command, args, env } = await prepareSeaweed({ weed: ctx.installed.seaweedfs, dir, ports, rootUser: ctx.secrets.minioRootUser, rootPassword: ctx.secrets.minioRootPassword });
  await startProcess({ name, command, args, env });
}

/** The stack's S3 server: MinIO, or SeaweedFS when ATOLL_STORAGE=seaweedfs (the service keeps the name `minio`). */
const minio: Service = {
  name: 'minio',
  ports: [],
  timeoutMs: 60_000,
  healthy: (ctx) => (ctx.storage === 'seaweedfs' ? seaweedHealthy(seaweedPorts(ctx.ports)) : minioReady(ctx.ports.minio)),
  async start(ctx) {
    if (ctx.storage === 'seaweedfs') {
      await startSeaweed(ctx, 'minio', join(paths.dataDir, 'seaweedfs'), seaweedPorts(ctx.ports));
      return;
    }
    const dir = join(paths.dataDir, 'minio');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await startProcess({
      name: 'minio',
      command: ctx.installed.minio,
      args: ['server', dir, '--address', `127.0.0.1:${ctx.ports.minio}`, '--console-address', `127.0.0.1:${ctx.ports.minioConsole}`, '--quiet'],
      env: {
        MINIO_ROOT_USER: ctx.secrets.minioRootUser,
        MINIO_ROOT_PASSWORD: ctx.secrets.minioRootPassword,
        // A static KMS key enables SSE-S3; every bucket Atoll creates also gets a default-encryption rule.
        MINIO_KMS_SECRET_KEY: ctx.secrets.minioKmsKey,
        MINIO_KMS_AUTO_ENCRYPTION: 'on',
        MINIO_SITE_REGION: REGION,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        // Bulk ingest (SPEC §4): staging-bucket events go to a Redis list the writer drains; init subscribes the bucket
        // (target id ATOLL, see BULK_NOTIFY_ARN).
        MINIO_NOTIFY_REDIS_ENABLE_ATOLL: 'on',
        MINIO_NOTIFY_REDIS_ADDRESS_ATOLL: `127.0.0.1:${ctx.ports.redis}`,
        MINIO_NOTIFY_REDIS_PASSWORD_ATOLL: ctx.secrets.redisPassword,
        MINIO_NOTIFY_REDIS_KEY_ATOLL: 'atoll:bulk-events',
        MINIO_NOTIFY_REDIS_FORMAT_ATOLL: 'access',
      },
    });
  },
};

const stripeMock: Service = {
  name: 'stripe-mock',
  ports: [],
  timeoutMs: 30_000,
  healthy: (ctx) =>
    httpOk(`http://127.0.0.1:${ctx.ports.stripeMock}/v1/customers?limit=1`, { headers: { Authorization: 'Bearer sk_test_atoll' } }),
  async start(ctx) {
    await startProcess({
      name: 'stripe-mock',
      command: ctx.installed.stripeMock,
      // Both listeners follow the port base (stripe-mock's HTTPS default, 12112, would collide with a second stack).
      args: ['-http-addr', `127.0.0.1:${ctx.ports.stripeMock}`, '-https-addr', `127.0.0.1:${ctx.ports.stripeMockHttps}`],
    });
  },
};

const keycloakBuildOptions = ['--db=postgres', '--health-enabled=true', '--metrics-enabled=true', '--cache=local'];

const keycloak: Service = {
  name: 'keycloak',
  ports: [],
  timeoutMs: 240_000,
  healthy: (ctx) => httpOk(`http://127.0.0.1:${ctx.ports.keycloakManagement}/health/ready`),
  async start(ctx, say) {
    const home = ctx.installed.keycloakHome;
    const javaEnv = { JAVA_HOME: ctx.installed.javaHome, JAVA_OPTS_KC_HEAP: '-Xms128m -Xmx768m' };
    const marker = join(home, '.atoll-build');
    const wanted = keycloakBuildOptions.join(' ');
    if (!existsSync(marker) || readFileSync(marker, 'utf8') !== wanted) {
      say('building the Keycloak server (first run only)');
      await runOrThrow(join(home, 'bin', 'kc.sh'), ['build', ...keycloakBuildOptions], { env: { ...process.env, ...javaEnv } });
      await writeFile(marker, wanted);
    }
    await startProcess({
      name: 'keycloak',
      command: join(home, 'bin', 'kc.sh'),
      args: [
        'start',
        '--optimized',
        '--http-enabled=true',
        '--http-host=127.0.0.1',
        `--http-port=${ctx.ports.keycloak}`,
        `--http-management-port=${ctx.ports.keycloakManagement}`,
        '--hostname-strict=false',
        `--db-url=jdbc:postgresql://127.0.0.1:${ctx.ports.postgres}/keycloak`,
        '--db-username=keycloak',
      ],
      env: {
        ...javaEnv,
        KC_DB_PASSWORD: ctx.secrets.postgresKeycloakPassword,
        KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
        KC_BOOTSTRAP_ADMIN_PASSWORD: ctx.secrets.keycloakAdminPassword,
      },
    });
  },
};

/**
 * Imports the atoll realm from the repo's file through Keycloak's admin API, substituting ${VAR} placeholders, then
 * brings its step-up configuration up to date (that part also reaches realms imported by older versions).
 */
export async function importRealm(ctx: StackContext, say: Say): Promise<void> {
  const base = urls(ctx).keycloak;
  const kc = await keycloakAdmin(base, 'atoll', ctx.secrets.keycloakAdminPassword);
  const existing = await fetch(`${base}/admin/realms/atoll`, { headers: kc.authorization });
  if (!existing.ok) {
    const vars: Record<string, string> = {
      ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET: ctx.secrets.keycloakAdminClientSecret,
      ATOLL_OPERATOR_CLIENT_ID: OPERATOR_CLIENT_ID,
      ATOLL_OPERATOR_CLIENT_SECRET: ctx.secrets.operatorClientSecret,
    };
    const raw = readFileSync(paths.realmFile, 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`realm file references unknown variable ${name}`);
      return v;
    });
    say('importing the atoll realm into Keycloak');
    const res = await fetch(`${base}/admin/realms`, { method: 'POST', headers: { ...kc.authorization, 'content-type': 'application/json' }, body: raw });
    if (!res.ok) throw new Error(`realm import failed: HTTP ${res.status} ${await res.text()}`);
  }
  await provisionStepUp(kc, { portalOrigins: [urls(ctx).api] });
}

const tsxArgs = (entry: string) => ['--import', 'tsx', join(repoRoot, entry)];

function appService(name: 'api' | 'writer' | 'cleanroom', entry: string): Service {
  return {
    name,
    ports: [],
    timeoutMs: 60_000,
    healthy: (ctx) =>
      name === 'api'
        ? httpOk(`${urls(ctx).api}/readyz`)
        : httpOk(`http://127.0.0.1:${name === 'writer' ? ctx.ports.writerHealth : ctx.ports.cleanroomHealth}/readyz`),
    async start(ctx) {
      await startProcess({ name, command: process.execPath, args: tsxArgs(entry), cwd: repoRoot, env: appEnv(ctx, name) });
    },
  };
}

const services: Record<ServiceName, Service> = {
  postgres,
  redis,
  minio,
  'stripe-mock': stripeMock,
  keycloak,
  api: appService('api', 'apps/api/src/main.ts'),
  writer: appService('writer', 'apps/writer/src/main.ts'),
  cleanroom: appService('cleanroom', 'apps/cleanroom/src/main.ts'),
};

function servicePorts(ctx: StackContext, name: ServiceName): number[] {
  const p = ctx.ports;
  switch (name) {
    case 'postgres':
      return [p.postgres];
    case 'redis':
      return [p.redis];
    case 'minio':
      return ctx.storage === 'seaweedfs' ? seaweedPortList(seaweedPorts(p)) : [p.minio, p.minioConsole];
    case 'stripe-mock':
      return [p.stripeMock];
    case 'keycloak':
      return [p.keycloak, p.keycloakManagement];
    case 'api':
      return [p.api];
    case 'writer':
      return [p.writerHealth];
    case 'cleanroom':
      return [p.cleanroomHealth];
  }
}

/** Makes `svc` run and healthy; a service this call had to start is added to `started` (before it is healthy). */
async function ensureService(ctx: StackContext, svc: Service, say: Say, started: ServiceName[]): Promise<void> {
  const rec = readPid(svc.name);
  if (rec && isAlive(rec) && (await svc.healthy(ctx))) return;
  if (!(rec && isAlive(rec))) {
    for (const port of servicePorts(ctx, svc.name)) {
      if (await portInUse(port)) {
        throw new Error(`port ${port} needed by ${svc.name} is taken by another program; set ATOLL_PORT_BASE or ATOLL_PORT_* to move the stack`);
      }
    }
    say(`starting ${svc.name}`);
    started.push(svc.name);
    await svc.start(ctx, say);
  }
  await waitFor(svc.name, async () => {
    const r = readPid(svc.name);
    if (!r || !isAlive(r)) throw new Error(`${svc.name} exited during start-up; see ${logFile(svc.name)}`);
    return svc.healthy(ctx);
  }, { timeoutMs: svc.timeoutMs, logHint: logFile(svc.name) });
}

async function runInit(ctx: StackContext, say: Say): Promise<void> {
  say('running init: migrations, buckets, storage service users');
  const r = await run(process.execPath, tsxArgs('apps/api/src/init.ts'), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...initEnv(ctx) },
  });
  await mkdir(paths.logDir, { recursive: true });
  await writeFile(logFile('init'), r.stdout + r.stderr);
  if (r.code !== 0) throw new Error(`init failed (exit ${r.code}); see ${logFile('init')}\n${r.stderr.split('\n').slice(-10).join('\n')}`);
}

export async function up(opts: { apps?: boolean; say?: Say } = {}): Promise<StackContext> {
  const say = opts.say ?? defaultSay;
  // Others may traverse (the postgres user must reach its data dir) but not list; secrets inside are 0600.
  await mkdir(paths.dataDir, { recursive: true });
  await chmod(stateDir, 0o711);
  await chmod(paths.dataDir, 0o711);
  const ctx = await loadContext({ install: true, say });
  const running = readPid('minio');
  if (running && isAlive(running) && existsSync(paths.storageFile) && readFileSync(paths.storageFile, 'utf8').trim() !== ctx.storage) {
    throw new Error(`the stack's S3 server is running as ${readFileSync(paths.storageFile, 'utf8').trim()}; run "npm run stack -- down" before switching ATOLL_STORAGE to ${ctx.storage}`);
  }
  await writeFile(paths.storageFile, ctx.storage);
  await writeFile(paths.portsFile, JSON.stringify(Object.fromEntries(Object.entries(effectivePortEnv()).filter(([, v]) => v !== undefined))));
  // A start that fails stops what it started (and leaves alone what was running before it), so nothing is orphaned.
  const started: ServiceName[] = [];
  try {
    const first = await Promise.allSettled([postgres, redis, minio, stripeMock].map((svc) => ensureService(ctx, svc, say, started)));
    const failed = first.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await provisionPostgres(ctx);
    await ensureService(ctx, keycloak, say, started);
    await importRealm(ctx, say);
    await runInit(ctx, say);
    await writeStackEnv(ctx);
    if (opts.apps !== false) {
      for (const app of ['api', 'writer', 'cleanroom'] as const) await ensureService(ctx, services[app], say, started);
    }
  } catch (err) {
    for (const name of [...started].reverse()) {
      if (await stopProcess(name).catch(() => false)) say(`stopped ${name} (started by this failed start)`);
    }
    throw err;
  }
  return ctx;
}

/**
 * Stops one service with `signal` (SIGKILL: a crash; SIGTERM/SIGINT: a clean stop, SIGKILL after 30 s), leaving the
 * rest running. For chaos and crash tests; `ensureServices` brings it back.
 */
export async function stopService(name: ServiceName, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  return stopProcess(name, 30_000, signal);
}

/** Starts each of `names` that is not running (in the order given) and waits until it is healthy, as `up` does. */
export async function ensureServices(names: ServiceName[], opts: { say?: Say } = {}): Promise<void> {
  const say = opts.say ?? defaultSay;
  const ctx = await loadContext({ install: false, say });
  for (const name of names) await ensureService(ctx, services[name], say, []);
}

const SPARE_S3 = 'spare-s3';

/**
 * Starts (once) the S3 server of the other kind beside the stack's, for the storage conformance tests, and returns how
 * to reach it as root. It has its own data directory and ports; `down` stops it with the rest.
 */
export async function ensureSpareStorage(opts: { say?: Say } = {}): Promise<{ kind: StorageKind; endpoint: string; region: string; rootUser: string; rootPassword: string }> {
  const say = opts.say ?? defaultSay;
  const ctx = await loadContext({ install: false, say });
  const kind: StorageKind = ctx.storage === 'minio' ? 'seaweedfs' : 'minio';
  const port = ctx.ports.spareS3;
  const healthy = () => (kind === 'seaweedfs' ? seaweedHealthy(seaweedPorts(ctx.ports, true)) : minioReady(port));
  const rec = readPid(SPARE_S3);
  if (!(rec && isAlive(rec) && (await healthy()))) {
    if (!(rec && isAlive(rec))) {
      say(`starting a spare ${kind} for the storage conformance tests`);
      const dir = join(paths.dataDir, `spare-${kind}`);
      if (kind === 'seaweedfs') {
        const weed = await ensureSeaweedfs(say);
        await startSeaweed({ ...ctx, installed: { ...ctx.installed, seaweedfs: weed } }, SPARE_S3, dir, seaweedPorts(ctx.ports, true));
      } else {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await startProcess({
          name: SPARE_S3,
          command: ctx.installed.minio,
          args: ['server', dir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${ctx.ports.spareMinioConsole}`, '--quiet'],
          env: { MINIO_ROOT_USER: ctx.secrets.minioRootUser, MINIO_ROOT_PASSWORD: ctx.secrets.minioRootPassword, MINIO_KMS_SECRET_KEY: ctx.secrets.minioKmsKey, MINIO_SITE_REGION: REGION, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
        });
      }
    }
    await waitFor(SPARE_S3, async () => {
      const r = readPid(SPARE_S3);
      if (!r || !isAlive(r)) throw new Error(`the spare ${kind} exited during start-up; see ${logFile(SPARE_S3)}`);
      return healthy();
    }, { timeoutMs: 120_000, logHint: logFile(SPARE_S3) });
  }
  return { kind, endpoint: `http://127.0.0.1:${port}`, region: REGION, rootUser: ctx.secrets.minioRootUser, rootPassword: ctx.secrets.minioRootPassword };
}

export async function down(opts: { say?: Say } = {}): Promise<void> {
  const say = opts.say ?? defaultSay;
  if (await stopProcess(SPARE_S3)) say(`stopped ${SPARE_S3}`);
  for (const name of [...serviceNames].reverse()) {
    if (await stopProcess(name)) say(`stopped ${name}`);
  }
}

export interface ServiceStatus {
  name: ServiceName;
  pid: number | null;
  running: boolean;
  healthy: boolean;
  ports: number[];
}

export async function status(): Promise<ServiceStatus[]> {
  const ctx = await loadContext({ install: false });
  return Promise.all(
    serviceNames.map(async (name) => {
      const rec = readPid(name);
      const running = rec !== null && isAlive(rec);
      return { name, pid: running ? rec.pid : null, running, healthy: running && (await services[name].healthy(ctx)), ports: servicePorts(ctx, name) };
    }),
  );
}

export { versions };
