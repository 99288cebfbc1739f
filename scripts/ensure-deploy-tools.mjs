#!/usr/bin/env node
// Builds, idempotently and with Node builtins only, the pinned tools the deploy tests need: Helm, kubeconform and
// kustomize (`go install`), strict Kubernetes JSON schemas derived from the OpenAPI document in the k8s.io/kubernetes Go
// module, the compose-spec JSON schema of the compose-go Go module (the loader Docker Compose itself uses), and
// deploy/tools/compose-config, a `docker compose config` built on that loader (`go build`).
// Only Go and the Go module proxy are needed; nothing is fetched from anywhere else. Prints where everything is.
//
//   node scripts/ensure-deploy-tools.mjs          # human-readable lines
//   node scripts/ensure-deploy-tools.mjs --json   # one JSON object on stdout (what the tests read)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishDir } from './publish-dir.mjs';

export const deployToolVersions = {
  /** kubernetesMinor: the k8s.io/client-go minor version in helm's go.mod, as Helm's Makefile passes it. */
  helm: { module: 'helm.sh/helm/v3', pkg: 'helm.sh/helm/v3/cmd/helm', version: 'v3.22.0', kubernetesMinor: 37 },
  kubeconform: { module: 'github.com/yannh/kubeconform', pkg: 'github.com/yannh/kubeconform/cmd/kubeconform', version: 'v0.8.0' },
  /** Builds k8s/overlays/* the way `kubectl apply -k` would. */
  kustomize: { module: 'sigs.k8s.io/kustomize/kustomize/v5', pkg: 'sigs.k8s.io/kustomize/kustomize/v5', version: 'v5.8.2' },
  /** Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest release: manifests must pass both. */
  kubernetes: ['v1.30.14', 'v1.37.0'],
  composeGo: { module: 'github.com/compose-spec/compose-go/v2', version: 'v2.16.2' },
};

/** Bump when the schema conversion below changes, so cached schema trees are rebuilt. */
const SCHEMA_FORMAT = 2;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = resolve(process.env.ATOLL_CACHE_DIR ?? join(homedir(), '.cache', 'atoll'));
const binDir = join(cacheDir, 'bin');
const quiet = process.argv.includes('--json');
const say = (m) => process.stderr.write(`[deploy-tools] ${m}\n`);

function go(args, env = {}) {
  const r = spawnSync('go', args, { env: { ...process.env, GOFLAGS: '-buildvcs=false', ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`go is required (${r.error.message}); install Go 1.26+ first`);
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed:\n${(r.stderr || r.stdout).slice(-4000)}`);
  return r.stdout;
}

/** `go install pkg@version` into bin/<name>-<version>/, atomically (a half-built tree is never seen as done). */
function goInstall(name, { pkg, version }, ldflags) {
  const dir = join(binDir, `${name}-${version}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  if (!quiet) say(`building ${name} ${version} with go install (first run only)`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  go(['install', ...(ldflags ? ['-ldflags', ldflags] : []), `${pkg}@${version}`], { GOBIN: tmp, CGO_ENABLED: '0' });
  publishDir(tmp, dir, name);
  return bin;
}

/**
 * Builds deploy/tools/compose-config (compose-go's loader, i.e. `docker compose config` without Docker) from its
 * pinned go.mod/go.sum; the binary is cached under a hash of its sources.
 */
function buildComposeConfig() {
  const src = join(repoRoot, 'deploy', 'tools', 'compose-config');
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(src, f)));
  const dir = join(binDir, `compose-config-${hash.digest('hex').slice(0, 12)}`);
  const bin = join(dir, 'compose-config');
  if (existsSync(bin)) return bin;
  if (!quiet) say('building compose-config (compose-go) with go build (first run only)');
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = spawnSync('go', ['build', '-o', join(tmp, 'compose-config'), '.'], {
    cwd: src,
    env: { ...process.env, GOFLAGS: '-buildvcs=false -mod=readonly', CGO_ENABLED: '0' },
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) throw new Error(`go build of compose-config failed:\n${r.error?.message ?? r.stderr}`);
  publishDir(tmp, dir, 'compose-config');
  return bin;
}

/** Downloads a Go module into the module cache and returns its (read-only) source directory. */
function goModule(module, version) {
  const out = go(['mod', 'download', '-json', `${module}@${version}`]);
  const info = JSON.parse(out);
  if (info.Error) throw new Error(`go mod download ${module}@${version}: ${info.Error}`);
  return info.Dir;
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI v2 (swagger.json) → kubeconform's "standalone-strict" JSON schema layout, the same transformation as
// kubeconform's openapi2jsonschema script: one file per kind, every $ref resolvable inside the file, objects closed
// (additionalProperties: false) unless Kubernetes says they preserve unknown fields, int-or-string and quantity
// accepting both spellings, apiVersion and kind pinned. Descriptions are dropped to keep the tree small.

const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const QUANTITY = { oneOf: [{ type: 'string' }, { type: 'number' }] };
const QUANTITY_DEF = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

function convertSchema(node, refs) {
  if (Array.isArray(node)) return node.map((n) => convertSchema(n, refs));
  if (!node || typeof node !== 'object') return node;
  if (node.format === 'int-or-string' || node['x-kubernetes-int-or-string'] === true) return { ...INT_OR_STRING };
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description' || key.startsWith('x-kubernetes-') || key === 'nullable') continue;
    if (key === '$ref') {
      refs.add(value.replace('#/definitions/', ''));
      out.$ref = value;
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value).map(([p, s]) => [p, convertSchema(s, refs)]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = typeof value === 'object' ? convertSchema(value, refs) : value;
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = value.map((s) => convertSchema(s, refs));
    } else {
      out[key] = value;
    }
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const open = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !open) out.additionalProperties = false;
  if ((out.type === 'object' || out.properties) && open) delete out.additionalProperties;
  return out;
}

function kindFileName({ group, version, kind }) {
  const groupPart = group === '' ? '' : `-${group.split('.')[0].toLowerCase()}`;
  return `${kind.toLowerCase()}${groupPart}-${version.toLowerCase()}.json`;
}

function buildSchemaTree(swaggerFile, outDir) {
  const definitions = JSON.parse(readFileSync(swaggerFile, 'utf8')).definitions;
  const converted = new Map();
  const convertDefinition = (name) => {
    if (!converted.has(name)) {
      const refs = new Set();
      const def = definitions[name];
      if (!def) throw new Error(`swagger.json has no definition ${name}`);
      const schema = name === QUANTITY_DEF ? { ...QUANTITY } : convertSchema(def, refs);
      converted.set(name, { schema, refs });
    }
    return converted.get(name);
  };
  mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const [name, def] of Object.entries(definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!gvks || !def.properties?.kind) continue;
    // Reachable definitions only, so each file stands alone.
    const closure = new Set();
    const queue = [...convertDefinition(name).refs];
    while (queue.length > 0) {
      const ref = queue.pop();
      if (closure.has(ref)) continue;
      closure.add(ref);
      queue.push(...convertDefinition(ref).refs);
    }
    for (const gvk of gvks) {
      const root = JSON.parse(JSON.stringify(convertDefinition(name).schema));
      const apiVersion = gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
      root.properties.apiVersion = { type: 'string', enum: [apiVersion] };
      root.properties.kind = { type: 'string', enum: [gvk.kind] };
      const file = {
        $schema: 'http://json-schema.org/draft-07/schema#',
        ...root,
        definitions: Object.fromEntries([...closure].sort().map((ref) => [ref, convertDefinition(ref).schema])),
      };
      writeFileSync(join(outDir, kindFileName(gvk)), JSON.stringify(file));
      count += 1;
    }
  }
  return count;
}

/** Strict schemas for one Kubernetes version, in kubeconform's `-schema-location` layout; returns the tree's root. */
function ensureKubernetesSchemas(version) {
  const root = join(cacheDir, 'kubernetes-json-schema', `${version}-f${SCHEMA_FORMAT}`);
  const marker = join(root, '.complete');
  if (existsSync(marker)) return root;
  if (!quiet) say(`deriving strict JSON schemas from k8s.io/kubernetes@${version} api/openapi-spec/swagger.json`);
  const moduleDir = goModule('k8s.io/kubernetes', version);
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const count = buildSchemaTree(join(moduleDir, 'api', 'openapi-spec', 'swagger.json'), join(tmp, `${version}-standalone-strict`));
  writeFileSync(join(tmp, '.complete'), `${count} kinds\n`);
  publishDir(tmp, root, '.complete');
  return root;
}

export function ensureDeployTools() {
  mkdirSync(binDir, { recursive: true });
  const { helm, kubeconform, kustomize, kubernetes, composeGo } = deployToolVersions;
  // The same -X flags as Helm's Makefile: without them a source build reports an "unreleased" version and assumes
  // Kubernetes 1.20 for `helm template` and lint. client-go v0.37 ⇒ Kubernetes 1.37.
  const helmLdflags = [
    `-X helm.sh/helm/v3/internal/version.version=${helm.version}`,
    ...['pkg/chartutil', 'pkg/lint/rules'].flatMap((p) => [
      `-X helm.sh/helm/v3/${p}.k8sVersionMajor=1`,
      `-X helm.sh/helm/v3/${p}.k8sVersionMinor=${helm.kubernetesMinor}`,
    ]),
  ].join(' ');
  const helmBin = goInstall('helm', helm, helmLdflags);
  const kubeconformBin = goInstall('kubeconform', kubeconform);
  const kustomizeBin = goInstall('kustomize', kustomize);
  const kubernetesSchemas = Object.fromEntries(kubernetes.map((v) => [v, ensureKubernetesSchemas(v)]));
  const composeConfig = buildComposeConfig();
  const composeSchema = join(goModule(composeGo.module, composeGo.version), 'schema', 'compose-spec.json');
  if (!existsSync(composeSchema)) throw new Error(`${composeGo.module}@${composeGo.version} has no schema/compose-spec.json`);
  return {
    helm: helmBin,
    kubeconform: kubeconformBin,
    kustomize: kustomizeBin,
    kubernetesSchemas,
    /** kubeconform -schema-location template for a tree returned in kubernetesSchemas. */
    schemaLocationTemplate: '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json',
    composeSchema,
    composeConfig,
    versions: deployToolVersions,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  try {
    const tools = ensureDeployTools();
    if (quiet) {
      process.stdout.write(`${JSON.stringify(tools)}\n`);
    } else {
      console.log(`helm=${tools.helm}`);
      console.log(`kubeconform=${tools.kubeconform}`);
      console.log(`kustomize=${tools.kustomize}`);
      for (const [v, dir] of Object.entries(tools.kubernetesSchemas)) console.log(`kubernetes-schemas-${v}=${dir}`);
      console.log(`compose-schema=${tools.composeSchema}`);
      console.log(`compose-config=${tools.composeConfig}`);
    }
  } catch (err) {
    process.stderr.write(`[deploy-tools] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
