// k8s/: plain manifests for people without Helm. The base is rendered from the chart by scripts/render-k8s.mjs and
// must match a fresh render; base and example overlay build with kustomize and validate strictly offline.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLS_TIMEOUT_MS, component, deployTools, kubeVersions, kubeconform, parseDocs, podTemplate, removeScratch, repo, run, scratch, workloads, type K8sDoc } from './support/deploy.js';

const baseDir = join(repo, 'k8s', 'base');
const baseFiles = () => readdirSync(baseDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');

/** A private copy of what render-k8s.mjs reads and writes, so a test can break it without touching the repo. */
function repoCopy(name: string): string {
  const dir = join(scratch, name);
  for (const path of ['scripts', 'helm', 'k8s', 'deploy', 'packages/stack/keycloak']) cpSync(join(repo, path), join(dir, path), { recursive: true });
  // render-k8s.mjs recognises the repository by these.
  mkdirSync(join(dir, 'packages', 'stack'), { recursive: true });
  return dir;
}

let overlay: K8sDoc[] = [];
let overlayFile = '';

beforeAll(async () => {
  deployTools();
  const copy = repoCopy('overlay');
  const secrets = execFileSync(process.execPath, [join(repo, 'deploy', 'compose', 'generate-env.mjs'), '--secrets-only'], { encoding: 'utf8' });
  writeFileSync(join(copy, 'k8s', 'overlays', 'example', 'secrets.env'), secrets);
  const r = await run(deployTools().kustomize, ['build', join(copy, 'k8s', 'overlays', 'example')]);
  if (r.code !== 0) throw new Error(`kustomize build k8s/overlays/example failed:\n${r.stderr}`);
  overlayFile = join(scratch, 'overlay.yaml');
  writeFileSync(overlayFile, r.stdout);
  overlay = parseDocs(r.stdout);
}, TOOLS_TIMEOUT_MS);

afterAll(removeScratch);

describe('k8s/base is the chart, rendered', () => {
  it('matches a fresh render (node scripts/render-k8s.mjs --check), and so do the chart copies of the realm and init script', async () => {
    const r = await run(process.execPath, [join(repo, 'scripts', 'render-k8s.mjs'), '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('up to date');
    expect(readFileSync(join(repo, 'helm/atoll/files/atoll-realm.json'), 'utf8')).toBe(readFileSync(join(repo, 'packages/stack/keycloak/atoll-realm.json'), 'utf8'));
    expect(readFileSync(join(repo, 'helm/atoll/files/init-databases.sh'), 'utf8')).toBe(readFileSync(join(repo, 'deploy/postgres/init-databases.sh'), 'utf8'));
  });

  it('the check fails, naming the file, when the base or a chart copy drifts', async () => {
    const copy = repoCopy('drift');
    const api = join(copy, 'k8s', 'base', 'api.yaml');
    writeFileSync(api, readFileSync(api, 'utf8').replace('replicas: 2', 'replicas: 5'));
    const realm = join(copy, 'packages', 'stack', 'keycloak', 'atoll-realm.json');
    writeFileSync(realm, readFileSync(realm, 'utf8').replace('"accessTokenLifespan": 300', '"accessTokenLifespan": 600'));
    const r = await run(process.execPath, [join(copy, 'scripts', 'render-k8s.mjs'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('k8s/base/api.yaml');
    expect(r.stderr).toContain('helm/atoll/files/atoll-realm.json');
    // Re-rendering repairs it.
    const fix = await run(process.execPath, [join(copy, 'scripts', 'render-k8s.mjs')]);
    expect(fix.code, fix.stderr).toBe(0);
    expect((await run(process.execPath, [join(copy, 'scripts', 'render-k8s.mjs'), '--check'])).code).toBe(0);
  });

  it('validates strictly on every supported Kubernetes version and builds with kustomize', async () => {
    const files = baseFiles().map((f) => join(baseDir, f));
    const docs = files.flatMap((f) => parseDocs(readFileSync(f, 'utf8')));
    for (const v of kubeVersions()) expect((await kubeconform(files, v)).valid).toBe(docs.length);
    const built = await run(deployTools().kustomize, ['build', baseDir]);
    expect(built.code, built.stderr).toBe(0);
    expect(parseDocs(built.stdout)).toHaveLength(docs.length);
  });

  it('holds no Secret and no secret value: secrets come from the overlay', () => {
    const docs = baseFiles().flatMap((f) => parseDocs(readFileSync(join(baseDir, f), 'utf8')));
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    const refs = new Set(workloads(docs).flatMap((w) => podTemplate(w).spec.containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [])))));
    expect(refs).toEqual(new Set(['atoll-secrets']));
    expect(docs.every((d) => d.metadata.labels?.['app.kubernetes.io/managed-by'] === 'kustomize')).toBe(true);
  });
});

describe('k8s/overlays/example', () => {
  it('validates strictly on every supported Kubernetes version', async () => {
    for (const v of kubeVersions()) expect((await kubeconform([overlayFile], v)).valid).toBe(overlay.length);
  });

  it('moves everything to its namespace and its registry', () => {
    expect(overlay.length).toBeGreaterThan(30);
    for (const d of overlay) expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe('atoll-prod');
    for (const w of workloads(overlay)) {
      for (const c of podTemplate(w).spec.containers) {
        if (c.image.includes('atoll/')) expect(c.image, w.metadata.name).toMatch(/^registry\.example\.com\/atoll\//);
      }
    }
  });

  it('generates the Secret from secrets.env, with every key the pods reference', () => {
    const secret = overlay.find((d) => d.kind === 'Secret')!;
    expect(secret.metadata.name).toMatch(/^atoll-secrets-[a-z0-9]{10}$/);
    for (const w of workloads(overlay)) {
      for (const c of podTemplate(w).spec.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          expect(ref.name, `${w.metadata.name} ${e.name}`).toBe(secret.metadata.name);
          expect(Object.keys(secret.data!), `${w.metadata.name} needs key ${ref.key}`).toContain(ref.key);
        }
      }
    }
  });

  it('applies its patches: three api replicas behind https://atoll.example.com', () => {
    const api = workloads(overlay).find((w) => component(w) === 'api')!;
    expect(api.spec?.replicas).toBe(3);
    const env = Object.fromEntries((podTemplate(api).spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    expect(env.ATOLL_API_URL).toBe('https://atoll.example.com');
    const ingress = overlay.find((d) => d.kind === 'Ingress');
    expect(JSON.stringify(ingress?.spec)).toContain('atoll.example.com');
  });
});
