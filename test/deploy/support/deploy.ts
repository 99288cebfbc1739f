// Shared helpers of the deploy tests: the pinned tools (scripts/ensure-deploy-tools.mjs), rendering the Helm chart
// for a scenario, strict kubeconform validation, YAML documents, and a synthetic local-stack context.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { prepareSeaweed, type StackContext } from '@atoll/stack';

export const repo = resolve(import.meta.dirname, '..', '..', '..');
export const chartDir = join(repo, 'helm', 'atoll');
export const readRepoFile = (path: string) => readFileSync(join(repo, path), 'utf8');

/** Building Helm, kubeconform and kustomize from source takes minutes the first time. */
export const TOOLS_TIMEOUT_MS = 1_200_000;

export interface DeployTools {
  helm: string;
  kubeconform: string;
  kustomize: string;
  kubernetesSchemas: Record<string, string>;
  schemaLocationTemplate: string;
  composeSchema: string;
  /** deploy/tools/compose-config: compose-go's loader, i.e. `docker compose config` without Docker. */
  composeConfig: string;
}

let tools: DeployTools | undefined;
export function deployTools(): DeployTools {
  tools ??= JSON.parse(
    execFileSync(process.execPath, [join(repo, 'scripts', 'ensure-deploy-tools.mjs'), '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: TOOLS_TIMEOUT_MS,
    }),
  ) as DeployTools;
  return tools;
}

/** The two Kubernetes versions every manifest must pass: the chart's minimum and the newest. */
export const kubeVersions = () => Object.keys(deployTools().kubernetesSchemas);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);
export async function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  try {
    const r = await execFileAsync(cmd, args, { maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, cwd: opts.cwd ?? repo });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

export const scratch = mkdtempSync(join(tmpdir(), 'atoll-deploy-test-'));
export function removeScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
}

const token = (n = 24) => randomBytes(n).toString('base64url');

/** SeaweedFS's own secrets, in the shapes it takes (deploy/seaweedfs/start.sh checks them). */
export function randomSeaweedSecrets() {
  return {
    seaweedfsSseKek: randomBytes(32).toString('hex'),
    seaweedfsJwtSigningKey: token(32),
    seaweedfsStsSigningKey: randomBytes(32).toString('base64'),
  };
}

/** Fresh random secrets for one test run (the chart has no defaults; nothing secret is committed). */
export function randomSecrets() {
  return {
    postgresSuperuserPassword: token(),
    postgresAppPassword: token(),
    postgresKeycloakPassword: token(),
    redisPassword: token(),
    s3RootUser: `root-${token(6)}`,
    s3RootPassword: token(),
    minioKmsSecretKey: `atoll-sse:${randomBytes(32).toString('base64')}`,
    keycloakAdminPassword: token(),
    keycloakAdminClientSecret: token(),
    operatorClientSecret: token(),
    s3ApiSecret: token(),
    s3WriterSecret: token(),
    s3CleanroomSecret: token(),
    tidKey: token(32),
    kek: token(32),
    stripeWebhookSecret: token(),
    // stripe-mock accepts sk_test_<anything without underscores>.
    stripeSecretKey: `sk_test_${randomBytes(12).toString('hex')}`,
  };
}
export type ChartSecrets = ReturnType<typeof randomSecrets> & Partial<ReturnType<typeof randomSeaweedSecrets>>;

/** A values file holding the given secrets, in the scratch directory. */
export function secretsValuesFile(secrets: Partial<ChartSecrets>, name = `secrets-${token(4)}.json`): string {
  const file = join(scratch, name);
  writeFileSync(file, JSON.stringify({ secrets }));
  return file;
}

// ---- Kubernetes documents --------------------------------------------------------------------------------------

export interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export function parseDocs(text: string): K8sDoc[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`invalid YAML in rendered output: ${d.errors[0]!.message}`);
      return d.toJS() as K8sDoc | null;
    })
    .filter((d): d is K8sDoc => d !== null && typeof d === 'object' && 'kind' in d);
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: Array<{ matchExpressions: Array<{ key: string; operator: string; values: string[] }> }> } } };
  volumes?: Array<{ name: string; emptyDir?: unknown; configMap?: { name: string } }>;
  automountServiceAccountToken?: boolean;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'];

export function podTemplate(doc: K8sDoc): { labels: Record<string, string>; spec: PodSpec } {
  const spec = doc.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
  return { labels: spec.template.metadata.labels, spec: spec.template.spec };
}

export const workloads = (docs: K8sDoc[]) => docs.filter((d) => WORKLOAD_KINDS.includes(d.kind));
export const component = (d: K8sDoc) => d.metadata.labels?.['app.kubernetes.io/component'];
export function workload(docs: K8sDoc[], comp: string, kind?: string): K8sDoc {
  const found = docs.find((d) => WORKLOAD_KINDS.includes(d.kind) && component(d) === comp && (!kind || d.kind === kind));
  if (!found) throw new Error(`no ${kind ?? 'workload'} for component ${comp}`);
  return found;
}
export const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));

// ---- Helm ------------------------------------------------------------------------------------------------------

export interface Rendered {
  docs: K8sDoc[];
  file: string;
  kubeVersion: string;
}

/** `helm template` of one scenario (helm/atoll/ci/<scenario>-values.yaml) for one Kubernetes version. */
export async function renderScenario(scenario: string, opts: { kubeVersion: string; secrets?: Partial<ChartSecrets>; args?: string[] }): Promise<Rendered> {
  const { helm } = deployTools();
  const secretFile = secretsValuesFile(opts.secrets ?? randomSecrets());
  const args = ['template', 'atoll', chartDir, '--namespace', 'atoll', '--kube-version', opts.kubeVersion.replace(/^v/, ''), '-f', join(chartDir, 'ci', `${scenario}-values.yaml`), '-f', secretFile, ...(opts.args ?? [])];
  const r = await run(helm, args);
  if (r.code !== 0) throw new Error(`helm template ${scenario} failed:\n${r.stderr}`);
  const file = join(scratch, `${scenario}-${opts.kubeVersion}-${token(4)}.yaml`);
  writeFileSync(file, r.stdout);
  return { docs: parseDocs(r.stdout), file, kubeVersion: opts.kubeVersion };
}

/** Helm against a (stand-in) API server: its own kubeconfig, cache and config directories. */
export function helmWith(kubeconfig: string): (args: string[]) => Promise<RunResult> {
  const env = { ...process.env, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: join(scratch, 'helm-cache'), HELM_CONFIG_HOME: join(scratch, 'helm-config') };
  return (args) => run(deployTools().helm, args, { env });
}

/** A Secret's data, decoded. */
export const decodeSecretData = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/** `helm template` expected to fail; returns stderr. */
export async function helmTemplateFails(args: string[]): Promise<string> {
  const r = await run(deployTools().helm, ['template', 'atoll', chartDir, ...args]);
  if (r.code === 0) throw new Error(`helm template ${args.join(' ')} unexpectedly succeeded`);
  return r.stderr;
}

/** Strict kubeconform against the offline schemas of one Kubernetes version; throws with every problem. */
export async function kubeconform(files: string[], kubeVersion: string): Promise<{ valid: number }> {
  const t = deployTools();
  const root = t.kubernetesSchemas[kubeVersion];
  if (!root) throw new Error(`no schemas for Kubernetes ${kubeVersion}`);
  const r = await run(t.kubeconform, [
    '-strict',
    '-summary',
    '-output', 'json',
    '-kubernetes-version', kubeVersion.replace(/^v/, ''),
    '-schema-location', join(root, t.schemaLocationTemplate),
    ...files,
  ]);
  const report = JSON.parse(r.stdout || '{}') as { resources?: Array<{ filename: string; kind: string; name: string; status: string; msg: string }>; summary?: { valid: number; invalid: number; errors: number; skipped: number } };
  const bad = (report.resources ?? []).filter((x) => x.status !== 'statusValid');
  if (r.code !== 0 || bad.length > 0 || !report.summary) {
    throw new Error(`kubeconform (Kubernetes ${kubeVersion}) rejected:\n${bad.map((b) => `  ${b.kind}/${b.name}: ${b.msg}`).join('\n') || r.stderr}`);
  }
  if (report.summary.skipped > 0) throw new Error(`kubeconform skipped ${report.summary.skipped} resource(s)`);
  return { valid: report.summary.valid };
}

// ---- the local stack, for comparisons --------------------------------------------------------------------------

/** A StackContext with placeholder values: appEnv/initEnv give the local stack's keys without starting anything. */
export function syntheticStackContext(storage: StackContext['storage'] = 'minio'): StackContext {
  const anything = <T extends object>(value: unknown) => new Proxy({}, { get: (_t, p) => (p === 'then' ? undefined : value) }) as T;
  return {
    storage,
    installed: anything<StackContext['installed']>('/nonexistent'),
    secrets: anything<StackContext['secrets']>('synthetic-secret-value'),
    ports: anything<StackContext['ports']>(1),
    postgresRoot: '/nonexistent',
  };
}

/** Keys an Atoll process understands: its TypeBox schema (packages/config) — plus init.ts's own for the init. */
export function initOnlyKeys(): string[] {
  const src = readRepoFile('apps/api/src/init.ts');
  const block = src.slice(src.indexOf('const InitConfigSchema'), src.indexOf(']);', src.indexOf('const InitConfigSchema')));
  return [...block.matchAll(/(ATOLL_[A-Z0-9_]+): Type\./g)].map((m) => m[1]!);
}

export const yamlFile = <T>(path: string) => parseYaml(readRepoFile(path), { merge: true }) as T;

// ---- SeaweedFS: the local stack's settings, for comparisons ----------------------------------------------------

/** `-name=value` / `-name` arguments as name → value ('' for a bare switch); the leading subcommand is skipped. */
export function weedFlags(args: string[]): Map<string, string> {
  return new Map(args.filter((a) => a.startsWith('-')).map((a) => {
    const [name, ...value] = a.slice(1).split('=');
    return [name!, value.join('=')] as const;
  }));
}

export interface StackSeaweed {
  args: string[];
  env: Record<string, string>;
  /** The two config files it wrote, parsed. */
  identities: unknown;
  iam: unknown;
}

/**
 * What the local stack runs SeaweedFS with (packages/stack/src/seaweedfs.ts prepareSeaweed), for the given root key
 * and keys, without starting it: it writes its config files into a scratch directory, which are read back here.
 */
export async function stackSeaweed(keys: { rootUser: string; rootPassword: string; stsSigningKey: string; sseKek: string; jwtKey: string }): Promise<StackSeaweed> {
  const dir = join(scratch, `stack-seaweedfs-${token(4)}`);
  mkdirSync(dir, { recursive: true });
  // Its keys are made once and kept in these files: put ours there first.
  writeFileSync(join(dir, 'sts-signing-key'), keys.stsSigningKey);
  writeFileSync(join(dir, 'sse-s3-kek'), keys.sseKek);
  writeFileSync(join(dir, 'filer-jwt-key'), keys.jwtKey);
  const ports = { s3: 1, s3Grpc: 2, master: 3, masterGrpc: 4, volume: 5, volumeGrpc: 6, filer: 7, filerGrpc: 8 };
  const { args, env } = await prepareSeaweed({ weed: '/nonexistent/weed', dir, ports, rootUser: keys.rootUser, rootPassword: keys.rootPassword });
  const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown;
  return { args, env, identities: read('s3-identities.json'), iam: read('s3-iam.json') };
}

/** Flags whose values are the container's own (its ports, data directory, addresses, volume size). */
const CONTAINER_VALUED = /^(dir|ip|ip\.bind|.*port.*|master\.volumeSizeLimitMB)$/;
/** Flags the image's start script adds (with the files it writes) and the one a container needs to serve S3. */
const ADDED_BY_START_SCRIPT = ['s3.config', 's3.iam.config'];
const CONTAINER_ONLY = ['s3.ip.bind'];

/**
 * A container's `weed` arguments against the local stack's: the same flags (the start script adds the two config
 * files), the same values except ports, directory and addresses. Returns every difference.
 */
export function weedArgsDiff(containerArgs: string[], stackArgs: string[]): string[] {
  const mine = weedFlags(containerArgs);
  const stack = weedFlags(stackArgs);
  const problems: string[] = [];
  if (containerArgs[0] !== stackArgs[0]) problems.push(`subcommand ${containerArgs[0]} ≠ ${stackArgs[0]}`);
  for (const name of stack.keys()) {
    if (ADDED_BY_START_SCRIPT.includes(name)) continue;
    if (!mine.has(name)) problems.push(`lacks -${name}`);
    else if (!CONTAINER_VALUED.test(name) && mine.get(name) !== stack.get(name)) problems.push(`-${name}=${mine.get(name)} ≠ ${stack.get(name)}`);
  }
  for (const name of mine.keys()) if (!stack.has(name) && !CONTAINER_ONLY.includes(name)) problems.push(`-${name} is not a flag of the local stack`);
  for (const name of [...ADDED_BY_START_SCRIPT, 'ip', 'ip.bind']) if (!stack.has(name)) problems.push(`the local stack no longer sets -${name}`);
  return problems;
}
