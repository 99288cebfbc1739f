// The Helm chart, proven without a cluster: lint, render every scenario for the oldest and newest supported
// Kubernetes, validate every document strictly against offline schemas, and check the properties the chart promises
// (probes, hardening, network isolation, scaling, region, the local stack's configuration keys, bad values refused).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigSchema, CleanroomConfigSchema, WriterConfigSchema } from '@atoll/config';
import { appEnv, initEnv, serviceUsers, versions } from '@atoll/stack';
import {
  TOOLS_TIMEOUT_MS,
  chartDir,
  component,
  decodeSecretData,
  deployTools,
  envOf,
  helmTemplateFails,
  helmWith,
  initOnlyKeys,
  kubeVersions,
  kubeconform,
  parseDocs,
  podTemplate,
  randomSeaweedSecrets,
  randomSecrets,
  readRepoFile,
  removeScratch,
  renderScenario,
  run,
  scratch,
  secretsValuesFile,
  stackSeaweed,
  syntheticStackContext,
  weedArgsDiff,
  workload,
  workloads,
  type ChartSecrets,
  type Container,
  type K8sDoc,
  type Rendered,
} from './support/deploy.js';
import { startFakeKubeApi } from './support/fake-kube-api.js';

const scenarios = ['defaults', 'external', 'distributed', 'region-eu-west-1', 'region-ap-southeast-2', 'seaweedfs'] as const;
type Scenario = (typeof scenarios)[number];
const APPS = ['api', 'writer', 'cleanroom', 'init'] as const;

const renders = new Map<string, Rendered>();
const secrets = new Map<Scenario, ChartSecrets>();
let newest = '';
const r = (s: Scenario, version = newest) => renders.get(`${s}@${version}`)!;

/** The Secret keys of .env.example an in-cluster S3 server of that kind needs (the other kind's own keys excluded). */
const exampleNames = (kind: 'minio' | 'seaweedfs' = 'minio') =>
  [...readRepoFile('.env.example').matchAll(/^([A-Z0-9_]+)=change-me/gm)]
    .map((m) => m[1]!)
    .filter((k) => (kind === 'minio' ? !k.startsWith('ATOLL_SEAWEEDFS_') : k !== 'ATOLL_MINIO_KMS_SECRET_KEY'))
    .sort();

beforeAll(async () => {
  deployTools();
  newest = kubeVersions().at(-1)!;
  for (const s of scenarios) secrets.set(s, s === 'seaweedfs' ? { ...randomSecrets(), ...randomSeaweedSecrets() } : randomSecrets());
  await Promise.all(
    scenarios.flatMap((s) => kubeVersions().map(async (v) => renders.set(`${s}@${v}`, await renderScenario(s, { kubeVersion: v, secrets: secrets.get(s)! })))),
  );
}, TOOLS_TIMEOUT_MS);

afterAll(removeScratch);

describe('helm lint', () => {
  it.each(scenarios)('is clean for %s (--strict, no warnings)', async (s) => {
    const file = secretsValuesFile(randomSecrets());
    const res = await run(deployTools().helm, ['lint', '--strict', chartDir, '-f', `${chartDir}/ci/${s}-values.yaml`, '-f', file]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('0 chart(s) failed');
    expect(res.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe('rendered manifests validate strictly against the Kubernetes OpenAPI schemas (offline)', () => {
  it.each(scenarios)('%s, on every supported Kubernetes version', async (s) => {
    for (const v of kubeVersions()) {
      const { valid } = await kubeconform([r(s, v).file], v);
      expect(valid).toBe(r(s, v).docs.length);
      expect(valid).toBeGreaterThan(10);
    }
  });

  it('the validator itself rejects an unknown field and a wrong type (so a pass means something)', async () => {
    const bad = structuredClone(workload(r('defaults').docs, 'api'));
    const container = podTemplate(bad).spec.containers[0] as Container & { imagePullPolicyy?: string };
    container.imagePullPolicyy = 'Always';
    (bad.spec as Record<string, unknown>).replicas = 'two';
    const file = `${scratch}/bad-deployment.json`;
    writeFileSync(file, JSON.stringify(bad));
    await expect(kubeconform([file], newest)).rejects.toThrow(/imagePullPolicyy|replicas/);
  });
});

describe('every workload', () => {
  it.each(scenarios)('%s: probes, resources and a hardened securityContext on every container', (s) => {
    for (const w of workloads(r(s).docs)) {
      const { spec } = podTemplate(w);
      const where = `${w.kind}/${w.metadata.name}`;
      expect(spec.automountServiceAccountToken, where).toBe(false);
      expect(spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(spec.securityContext?.runAsUser, where).toBeGreaterThan(0);
      expect(spec.securityContext?.seccompProfile, where).toEqual({ type: 'RuntimeDefault' });
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const at = `${where} container ${c.name}`;
        expect(c.securityContext?.allowPrivilegeEscalation, at).toBe(false);
        expect(c.securityContext?.privileged ?? false, at).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, at).toBe(true);
        expect(c.securityContext?.capabilities?.drop, at).toContain('ALL');
        expect(c.securityContext?.capabilities?.add ?? [], at).toEqual([]);
        expect(c.resources?.requests?.cpu, at).toBeTruthy();
        expect(c.resources?.requests?.memory, at).toBeTruthy();
        expect(c.resources?.limits?.memory, at).toBeTruthy();
        if (w.kind !== 'Job') {
          expect(c.livenessProbe, `${at} liveness`).toBeDefined();
          expect(c.readinessProbe, `${at} readiness`).toBeDefined();
        }
      }
    }
  });

  it('apps probe /healthz for liveness and /readyz for readiness on their own port', () => {
    for (const app of ['api', 'writer', 'cleanroom']) {
      const c = podTemplate(workload(r('defaults').docs, app)).spec.containers[0]!;
      const port = app === 'api' ? 8080 : 8081;
      expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port } });
      expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port } });
      expect(c.ports?.[0]?.containerPort).toBe(port);
      const env = envOf(c);
      if (app === 'api') expect(env.ATOLL_API_PORT?.value).toBe('8080');
      else expect([env.ATOLL_HEALTH_PORT?.value, env.ATOLL_HEALTH_HOST?.value]).toEqual(['8081', '0.0.0.0']);
    }
  });

  it.each(scenarios)('%s: every image is pinned by tag, never "latest"', (s) => {
    const images = workloads(r(s).docs).flatMap((w) => podTemplate(w).spec.containers.map((c) => c.image));
    expect(images.length).toBeGreaterThan(3);
    for (const image of images) {
      const tag = /:([^:/]+)$/.exec(image)?.[1];
      expect(tag, image).toBeTruthy();
      expect(tag, image).not.toBe('latest');
    }
  });

  it('third-party images carry the versions the local stack pins (packages/stack/src/versions.ts)', () => {
    const imageOf = (comp: string) => podTemplate(workload(r('defaults').docs, comp)).spec.containers[0]!.image;
    expect(imageOf('minio')).toBe(`atoll/minio:${versions.minio}`);
    expect(imageOf('keycloak')).toBe(`atoll/keycloak:${versions.keycloak.version}`);
    expect(imageOf('stripe-mock')).toBe(`atoll/stripe-mock:${versions.stripeMock}`);
    expect(imageOf('postgresql')).toMatch(new RegExp(`^docker\\.io/library/postgres:${versions.debian.postgresMajor}\\.\\d+-bookworm$`));
    const chart = readRepoFile('helm/atoll/Chart.yaml');
    expect(chart).toContain(`atoll.io/minio-version: ${versions.minio}`);
    expect(chart).toContain(`atoll.io/keycloak-version: ${versions.keycloak.version}`);
    expect(chart).toContain(`atoll.io/stripe-mock-version: ${versions.stripeMock}`);
  });

  it('global.imageRegistry prefixes every image', async () => {
    const { docs } = await renderScenario('defaults', { kubeVersion: newest, args: ['--set', 'global.imageRegistry=registry.example.com:5000/mirror'] });
    for (const w of workloads(docs)) for (const c of podTemplate(w).spec.containers) expect(c.image).toMatch(/^registry\.example\.com:5000\/mirror\//);
  });
});

describe('secrets', () => {
  it.each(scenarios)('%s: no secret value appears outside the Secret, and no ConfigMap holds one', (s) => {
    const values = Object.values(secrets.get(s)!);
    const others = r(s).docs.filter((d) => d.kind !== 'Secret');
    for (const d of others) {
      const text = JSON.stringify(d);
      for (const v of values) {
        expect(text.includes(v), `${d.kind}/${d.metadata.name} contains a secret value`).toBe(false);
        expect(text.includes(Buffer.from(v).toString('base64')), `${d.kind}/${d.metadata.name} contains a base64 secret`).toBe(false);
      }
    }
    for (const cm of r(s).docs.filter((d) => d.kind === 'ConfigMap')) {
      for (const [key, text] of Object.entries(cm.data ?? {})) {
        // The realm file only names its secrets (placeholders resolved by Keycloak from the pod's environment).
        for (const m of text.matchAll(/"secret"\s*:\s*"([^"]*)"/g)) expect(m[1], `${cm.metadata.name}/${key}`).toMatch(/^\$\{[A-Z0-9_]+\}$/);
      }
    }
  });

  it.each(scenarios)('%s: secret-looking variables come from the Secret, never from a literal value', (s) => {
    for (const w of workloads(r(s).docs)) {
      for (const c of podTemplate(w).spec.containers) {
        for (const e of c.env ?? []) {
          if (/(PASSWORD|SECRET|TOKEN|_KEY|_AUTH)$/.test(e.name) && e.name !== 'ATOLL_S3_ACCESS_KEY') {
            expect(e.valueFrom?.secretKeyRef, `${w.metadata.name}/${c.name} ${e.name}`).toBeDefined();
          }
        }
      }
    }
  });

  it('the chart-made Secret holds exactly the values given, under the .env.example names', () => {
    const s = secrets.get('defaults')!;
    const secret = r('defaults').docs.find((d) => d.kind === 'Secret')!;
    const decoded = decodeSecretData(secret.data);
    expect(decoded.ATOLL_TID_KEY).toBe(s.tidKey);
    expect(decoded.ATOLL_MINIO_KMS_SECRET_KEY).toBe(s.minioKmsSecretKey);
    expect(Object.keys(decoded).sort()).toEqual(exampleNames('minio'));
  });

  it('with secrets.existingSecret the chart makes no Secret and every reference points at the given one', async () => {
    const { docs } = await renderScenario('defaults', { kubeVersion: newest, secrets: {}, args: ['--set', 'secrets.existingSecret=my-atoll-secrets'] });
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    const refs = workloads(docs).flatMap((w) => podTemplate(w).spec.containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : []))));
    expect(refs.length).toBeGreaterThan(20);
    expect(new Set(refs)).toEqual(new Set(['my-atoll-secrets']));
  });
});

describe('bare install: `helm install atoll ./helm/atoll` with no values (SPEC §1)', () => {
  const bareTemplate = async (version = newest): Promise<Rendered> => {
    const res = await run(deployTools().helm, ['template', 'atoll', chartDir, '--namespace', 'atoll', '--kube-version', version.replace(/^v/, '')]);
    expect(res.code, res.stderr).toBe(0);
    const file = `${scratch}/bare-${version}-${Math.random().toString(36).slice(2)}.yaml`;
    writeFileSync(file, res.stdout);
    return { docs: parseDocs(res.stdout), file, kubeVersion: version };
  };
  const secretOf = (docs: K8sDoc[]) => docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'atoll-secrets');

  it('helm lint --strict is clean without a single value', async () => {
    const res = await run(deployTools().helm, ['lint', '--strict', chartDir]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('renders valid manifests for every supported Kubernetes, in region us-east-1', async () => {
    for (const v of kubeVersions()) {
      const { docs, file } = await bareTemplate(v);
      expect((await kubeconform([file], v)).valid).toBe(docs.length);
      for (const d of docs) expect(d.metadata.labels?.['atoll.io/region'], `${d.kind}/${d.metadata.name}`).toBe('us-east-1');
      for (const app of APPS) expect(envOf(podTemplate(workload(docs, app)).spec.containers[0]!).ATOLL_S3_REGION?.value, app).toBe('us-east-1');
      expect(envOf(podTemplate(workload(docs, 'minio')).spec.containers[0]!).MINIO_SITE_REGION?.value).toBe('us-east-1');
    }
  });

  it('generates every secret: present, strong, well-formed, distinct, and different on every install', async () => {
    const [a, b] = await Promise.all([bareTemplate(), bareTemplate()]);
    const first = decodeSecretData(secretOf(a.docs)?.data);
    const second = decodeSecretData(secretOf(b.docs)?.data);
    expect(Object.keys(first).sort()).toEqual(exampleNames());
    for (const [key, value] of Object.entries(first)) {
      if (key === 'ATOLL_MINIO_ROOT_USER') expect(value).toMatch(/^root-[a-z0-9]{12}$/);
      else if (key === 'ATOLL_MINIO_KMS_SECRET_KEY') expect(value).toMatch(/^atoll-sse:[A-Za-z0-9+/]{43}=$/);
      else if (key === 'ATOLL_STRIPE_SECRET_KEY') expect(value).toMatch(/^sk_test_[A-Za-z0-9]{32}$/); // stripe-mock's form
      else if (key === 'ATOLL_TID_KEY' || key === 'ATOLL_KEK') expect(value, key).toMatch(/^[A-Za-z0-9]{48}$/);
      else expect(value, key).toMatch(/^[A-Za-z0-9]{32}$/); // URL-safe: some end up inside postgres:// and redis:// URLs
      expect(second[key], `${key} is the same on two installs`).not.toBe(value);
    }
    expect(Buffer.from(first.ATOLL_MINIO_KMS_SECRET_KEY!.split(':')[1]!, 'base64')).toHaveLength(32);
    expect(new Set(Object.values(first)).size, 'two generated secrets are equal').toBe(Object.keys(first).length);
    // The pods read them from that Secret; no generated value appears anywhere else.
    for (const d of a.docs.filter((x) => x.kind !== 'Secret')) {
      const text = JSON.stringify(d);
      for (const value of Object.values(first)) expect(text.includes(value), `${d.kind}/${d.metadata.name}`).toBe(false);
    }
    expect(secretOf(a.docs)?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
  });

  it('install, upgrade, uninstall, reinstall (against a stand-in API server): the secrets generated first are kept', async () => {
    await using api = await startFakeKubeApi(scratch);
    const helm = helmWith(api.kubeconfig);
    const args = ['--namespace', 'atoll', '--disable-openapi-validation'];
    const stored = () => decodeSecretData(api.get('v1', 'secrets', 'atoll', 'atoll-secrets')?.data);
    const ok = async (cmd: string[]) => {
      const res = await helm(cmd);
      expect(res.code, `helm ${cmd.join(' ')}\n${res.stderr}`).toBe(0);
      return res.stdout;
    };

    const notes = await ok(['install', 'atoll', chartDir, ...args]);
    expect(notes).toContain('region us-east-1');
    expect(notes).toContain('Secrets live in the Secret "atoll-secrets": those not given in secrets.* were generated on first install.');
    const installed = stored();
    expect(Object.keys(installed).sort()).toEqual(exampleNames());
    expect(api.list('apps/v1', 'deployments', 'atoll').map((d) => d.metadata.name).sort()).toEqual(['atoll-api', 'atoll-cleanroom', 'atoll-keycloak', 'atoll-stripe-mock', 'atoll-writer']);

    // A plain upgrade (values reset to the chart's) and another with an unrelated change: nothing regenerated.
    await ok(['upgrade', 'atoll', chartDir, ...args]);
    expect(stored()).toEqual(installed);
    await ok(['upgrade', 'atoll', chartDir, ...args, '--set', 'logLevel=debug']);
    expect(stored()).toEqual(installed);

    // A value given explicitly wins; the others stay. Later upgrades without it keep it.
    const redis = 'given-by-the-operator-123';
    await ok(['upgrade', 'atoll', chartDir, ...args, '--set', `secrets.redisPassword=${redis}`]);
    expect(stored()).toEqual({ ...installed, ATOLL_REDIS_PASSWORD: redis });

    // A key the stored Secret lacks (as after a chart version that adds one) is generated; the rest stay.
    const secret = api.get('v1', 'secrets', 'atoll', 'atoll-secrets')!;
    delete secret.data!.ATOLL_KEK;
    api.put('v1', 'secrets', secret);
    await ok(['upgrade', 'atoll', chartDir, ...args]);
    const { ATOLL_KEK: kek, ...rest } = stored();
    expect(kek).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(kek).not.toBe(installed.ATOLL_KEK);
    expect(rest).toEqual({ ...Object.fromEntries(Object.entries(installed).filter(([k]) => k !== 'ATOLL_KEK')), ATOLL_REDIS_PASSWORD: redis });
    const before = stored();

    // Uninstall removes everything but the Secret; a reinstall finds it and uses it.
    expect(await ok(['uninstall', 'atoll', '--namespace', 'atoll'])).toContain('[Secret] atoll-secrets');
    expect(api.list('apps/v1', 'deployments', 'atoll')).toEqual([]);
    expect(api.list('v1', 'secrets', 'atoll').map((x) => x.metadata.name)).toEqual(['atoll-secrets']);
    await ok(['install', 'atoll', chartDir, ...args]);
    expect(stored()).toEqual(before);
  });

  it('--dry-run=server shows the stored secrets, --dry-run=client (like helm template) fresh ones', async () => {
    await using api = await startFakeKubeApi(scratch);
    const stored = { ATOLL_TID_KEY: 'stored-tid-key-'.padEnd(48, 't'), ATOLL_KEK: 'stored-kek-'.padEnd(48, 'k') };
    // As a release named atoll leaves it behind (the ownership marks Helm checks before adopting an object).
    api.put('v1', 'secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'atoll-secrets', namespace: 'atoll', labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'atoll', 'meta.helm.sh/release-namespace': 'atoll' } },
      data: Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
    const rendered = async (mode: string) => {
      const res = await helmWith(api.kubeconfig)(['install', 'atoll', chartDir, '--namespace', 'atoll', '--disable-openapi-validation', `--dry-run=${mode}`]);
      expect(res.code, res.stderr).toBe(0);
      return decodeSecretData(secretOf(parseDocs(res.stdout.slice(res.stdout.indexOf('MANIFEST:') + 'MANIFEST:'.length, res.stdout.indexOf('NOTES:'))))?.data);
    };
    const server = await rendered('server');
    expect([server.ATOLL_TID_KEY, server.ATOLL_KEK]).toEqual([stored.ATOLL_TID_KEY, stored.ATOLL_KEK]);
    expect(Object.keys(server).sort()).toEqual(exampleNames()); // the rest generated
    const client = await rendered('client');
    expect(client.ATOLL_TID_KEY).not.toBe(stored.ATOLL_TID_KEY);
    expect(client.ATOLL_TID_KEY).toMatch(/^[A-Za-z0-9]{48}$/);
  });

  it('external services: their credentials are needed once; an upgrade without them keeps the stored ones', async () => {
    await using api = await startFakeKubeApi(scratch);
    const helm = helmWith(api.kubeconfig);
    const args = ['--namespace', 'atoll', '--disable-openapi-validation', '-f', `${chartDir}/ci/external-values.yaml`];
    const given = randomSecrets();
    const first = await helm(['install', 'atoll', chartDir, ...args, '-f', secretsValuesFile(given)]);
    expect(first.code, first.stderr).toBe(0);
    const installed = decodeSecretData(api.get('v1', 'secrets', 'atoll', 'atoll-secrets')?.data);
    expect(installed.ATOLL_POSTGRES_APP_PASSWORD).toBe(given.postgresAppPassword);
    const upgrade = await helm(['upgrade', 'atoll', chartDir, ...args]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(decodeSecretData(api.get('v1', 'secrets', 'atoll', 'atoll-secrets')?.data)).toEqual(installed);
  });
});

describe('network policies', () => {
  type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown; ipBlock?: { cidr: string } };
  type Rule = { from?: Peer[]; to?: Peer[]; ports?: Array<{ port: number; protocol: string }> };
  type Policy = { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
  const policies = (docs: K8sDoc[]) => docs.filter((d) => d.kind === 'NetworkPolicy').map((d) => d.spec as unknown as Policy);
  const selects = (p: Policy, labels: Record<string, string>) => Object.entries(p.podSelector.matchLabels).every(([k, v]) => labels[k] === v);
  const policyFor = (docs: K8sDoc[], comp: string) => {
    const found = policies(docs).filter((p) => p.podSelector.matchLabels['app.kubernetes.io/component'] === comp);
    expect(found, comp).toHaveLength(1);
    return found[0]!;
  };
  const peerComponents = (rules: Rule[] | undefined, dir: 'from' | 'to') =>
    new Set((rules ?? []).flatMap((rule) => (rule[dir] ?? []).flatMap((p) => (p.podSelector?.matchLabels && !p.namespaceSelector ? [p.podSelector.matchLabels['app.kubernetes.io/component']] : []))));

  it.each(scenarios)('%s: every pod is isolated for ingress and egress by a policy', (s) => {
    for (const w of workloads(r(s).docs)) {
      const { labels } = podTemplate(w);
      const mine = policies(r(s).docs).filter((p) => selects(p, labels));
      expect(mine.length, `${w.kind}/${w.metadata.name}`).toBeGreaterThan(0);
      expect(mine.flatMap((p) => p.policyTypes).sort(), w.metadata.name).toEqual(['Egress', 'Ingress']);
    }
  });

  it('apps reach only what they need', () => {
    const docs = r('defaults').docs;
    expect(peerComponents(policyFor(docs, 'api').egress, 'to')).toEqual(new Set(['postgresql', 'redis', 'minio', 'keycloak', 'stripe-mock']));
    // The cleanroom worker meters usage to Stripe (billing); the writer reaches nothing else.
    for (const [worker, extra] of [['writer', []], ['cleanroom', ['stripe-mock']]] as const) {
      expect(peerComponents(policyFor(docs, worker).egress, 'to')).toEqual(new Set(['postgresql', 'redis', 'minio', ...extra]));
      expect(policyFor(docs, worker).ingress ?? []).toEqual([]);
    }
    // init configures the realm's step-up flow and the portal's sign-in client through Keycloak's admin API.
    expect(peerComponents(policyFor(docs, 'init').egress, 'to')).toEqual(new Set(['postgresql', 'minio', 'keycloak']));
    expect(peerComponents(policyFor(docs, 'keycloak').ingress, 'from')).toEqual(new Set(['api', 'init']));
    expect(peerComponents(policyFor(docs, 'keycloak').egress, 'to')).toEqual(new Set(['postgresql']));
    // Nothing but DNS leaves the namespace in the default install.
    for (const p of policies(docs)) {
      for (const rule of p.egress ?? []) {
        for (const peer of rule.to ?? []) expect(peer.ipBlock, JSON.stringify(rule)).toBeUndefined();
        if ((rule.to ?? []).some((peer) => peer.namespaceSelector)) expect(rule.ports?.every((port) => port.port === 53)).toBe(true);
      }
    }
  });

  it('PostgreSQL, Redis and MinIO accept only Atoll pods of this release, on their one port', () => {
    const docs = r('defaults').docs;
    const expected = { postgresql: ['api', 'writer', 'cleanroom', 'init', 'keycloak'], redis: ['api', 'writer', 'cleanroom', 'minio'], minio: ['api', 'writer', 'cleanroom', 'init', 'minio'] };
    for (const [comp, from] of Object.entries(expected)) {
      const p = policyFor(docs, comp);
      expect(peerComponents(p.ingress, 'from'), comp).toEqual(new Set(from));
      for (const rule of p.ingress ?? []) {
        expect(rule.from?.length, `${comp}: an empty "from" admits everyone`).toBeGreaterThan(0);
        for (const peer of rule.from ?? []) {
          expect(peer.namespaceSelector, comp).toBeUndefined();
          expect(peer.ipBlock, comp).toBeUndefined();
          expect(peer.podSelector?.matchLabels?.['app.kubernetes.io/instance'], comp).toBe('atoll');
        }
      }
      if (comp !== 'minio') expect(p.egress ?? [], comp).toEqual([]);
    }
    // Not reachable from outside at the Service level either.
    for (const svc of docs.filter((d) => d.kind === 'Service')) expect((svc.spec as { type?: string }).type ?? 'ClusterIP', svc.metadata.name).toBe('ClusterIP');
    expect(docs.filter((d) => d.kind === 'Ingress')).toEqual([]);
  });

  it('the public S3 endpoint opens MinIO to the ingress controller only, and only when asked', () => {
    const p = policyFor(r('distributed').docs, 'minio');
    const outside = (p.ingress ?? []).flatMap((rule) => rule.from ?? []).filter((peer) => peer.namespaceSelector);
    expect(outside).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} }]);
    const ingress = r('distributed').docs.filter((d) => d.kind === 'Ingress').map((d) => d.metadata.name).sort();
    expect(ingress).toEqual(['atoll-api', 'atoll-keycloak', 'atoll-minio']);
  });

  it('external services are reached only at the configured CIDRs and ports', () => {
    const api = policyFor(r('external').docs, 'api');
    const ext = (api.egress ?? []).filter((rule) => rule.to?.some((peer) => peer.ipBlock));
    for (const rule of ext) expect(rule.to?.map((peer) => peer.ipBlock?.cidr)).toEqual(['10.20.0.0/16', '192.0.2.0/24']);
    expect(new Set(ext.flatMap((rule) => rule.ports?.map((p) => p.port)))).toEqual(new Set([5432, 6380, 443]));
  });
});

describe('scaling and disruption', () => {
  it('writer and cleanroom scale with an HPA; api, writer and cleanroom have PodDisruptionBudgets', () => {
    const docs = r('defaults').docs;
    for (const app of ['writer', 'cleanroom']) {
      const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler' && component(d) === app);
      expect(hpa?.spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: `atoll-${app}` }, minReplicas: 2, maxReplicas: 8 });
      expect(workload(docs, app).spec?.replicas, 'an HPA owns the replica count').toBeUndefined();
    }
    for (const app of ['api', 'writer', 'cleanroom']) {
      const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget' && component(d) === app);
      expect(pdb?.spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/component': app } } });
    }
  });

  it('distributed MinIO: 4 pods × 2 drives in one erasure-coded pool, with stable DNS and a PDB', () => {
    const docs = r('distributed').docs;
    const sts = workload(docs, 'minio', 'StatefulSet');
    const spec = sts.spec as { replicas: number; podManagementPolicy: string; serviceName: string; volumeClaimTemplates: Array<{ metadata: { name: string }; spec: { storageClassName?: string } }> };
    expect(spec.replicas).toBe(4);
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(spec.volumeClaimTemplates.map((v) => v.metadata.name)).toEqual(['data0', 'data1']);
    expect(spec.volumeClaimTemplates.every((v) => v.spec.storageClassName === 'fast-ssd')).toBe(true);
    const args = podTemplate(sts).spec.containers[0]!.args!;
    expect(args).toContain('http://atoll-minio-{0...3}.atoll-minio-hl.atoll.svc.cluster.local/data{0...1}');
    const headless = docs.find((d) => d.kind === 'Service' && d.metadata.name === spec.serviceName)!;
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(docs.some((d) => d.kind === 'PodDisruptionBudget' && component(d) === 'minio')).toBe(true);
    // Standalone: one pod, one volume, no pool URL.
    const single = workload(r('defaults').docs, 'minio', 'StatefulSet');
    expect(single.spec?.replicas).toBe(1);
    expect(podTemplate(single).spec.containers[0]!.args).toContain('/data');
  });
});

describe('region', () => {
  it.each([
    ['region-eu-west-1', 'eu-west-1'],
    ['region-ap-southeast-2', 'ap-southeast-2'],
  ] as const)('%s reaches every object, every S3 client, MinIO and the scheduler', (s, region) => {
    for (const v of kubeVersions()) {
      const docs = r(s, v).docs;
      for (const d of docs) expect(d.metadata.labels?.['atoll.io/region'], `${d.kind}/${d.metadata.name}`).toBe(region);
      for (const app of APPS) expect(envOf(podTemplate(workload(docs, app)).spec.containers[0]!).ATOLL_S3_REGION?.value, app).toBe(region);
      expect(envOf(podTemplate(workload(docs, 'minio')).spec.containers[0]!).MINIO_SITE_REGION?.value).toBe(region);
      for (const w of workloads(docs)) {
        const terms = podTemplate(w).spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
        expect(terms, w.metadata.name).toEqual([{ matchExpressions: [{ key: 'topology.kubernetes.io/region', operator: 'In', values: [region] }] }]);
      }
    }
  });

  it('services ask for topology-aware routing: trafficDistribution from 1.31, the annotation before', () => {
    const [oldest, latest] = [kubeVersions()[0]!, newest];
    for (const name of ['atoll-api', 'atoll-minio']) {
      const on = (v: string) => r('defaults', v).docs.find((d) => d.kind === 'Service' && d.metadata.name === name)!;
      expect((on(latest).spec as { trafficDistribution?: string }).trafficDistribution).toBe('PreferClose');
      expect(on(oldest).metadata.annotations?.['service.kubernetes.io/topology-mode']).toBe('Auto');
      expect((on(oldest).spec as { trafficDistribution?: string }).trafficDistribution).toBeUndefined();
    }
    // Without pinToRegion nothing is pinned (clusters without region labels still schedule).
    for (const w of workloads(r('defaults').docs)) expect(podTemplate(w).spec.affinity, w.metadata.name).toBeUndefined();
  });
});

describe('the apps get the local stack configuration', () => {
  const stackKeys = (kind: 'minio' | 'seaweedfs') => ({
    api: Object.keys(appEnv(syntheticStackContext(kind), 'api')),
    writer: Object.keys(appEnv(syntheticStackContext(kind), 'writer')),
    cleanroom: Object.keys(appEnv(syntheticStackContext(kind), 'cleanroom')),
    init: Object.keys(initEnv(syntheticStackContext(kind))),
  });
  const schemaKeys = {
    api: Object.keys(ApiConfigSchema.properties),
    writer: Object.keys(WriterConfigSchema.properties),
    cleanroom: Object.keys(CleanroomConfigSchema.properties),
    init: [...Object.keys(ApiConfigSchema.properties), ...initOnlyKeys()],
  };

  it.each(scenarios)('%s: every key the local stack sets, and only keys the app understands', (s) => {
    const kind = s === 'seaweedfs' ? 'seaweedfs' : 'minio';
    for (const app of APPS) {
      const c = podTemplate(workload(r(s).docs, app)).spec.containers[0]!;
      const env = envOf(c);
      const keys = Object.keys(env);
      for (const k of stackKeys(kind)[app]) expect(keys, `${s}/${app} lacks ${k}`).toContain(k);
      for (const k of keys) {
        if (k.startsWith('SECRET_')) {
          // Helpers for $(VAR) expansion only; each must actually be used that way.
          expect(JSON.stringify(c.env), `${app}: ${k} unused`).toContain(`$(${k})`);
        } else {
          expect(schemaKeys[app], `${s}/${app}: ${k} is not a configuration key of ${app}`).toContain(k);
        }
      }
      expect(env.ATOLL_S3_ACCESS_KEY?.value).toBe(serviceUsers(kind)[app === 'init' ? 'api' : app]);
      expect(env.ATOLL_STORAGE?.value, `${s}/${app}`).toBe(kind);
    }
  });

  it('least privilege: the TID key only where TIDs are computed; MinIO root credentials only in init and MinIO', () => {
    const docs = r('defaults').docs;
    const holders = (key: string) =>
      workloads(docs)
        .filter((w) => podTemplate(w).spec.containers.some((c) => (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.key === key)))
        .map(component)
        .sort();
    expect(holders('ATOLL_TID_KEY')).toEqual(['api', 'init', 'writer']);
    // The signing keys' KEK reaches only the api (and the init job, which checks every secret for placeholders).
    expect(holders('ATOLL_KEK')).toEqual(['api', 'init']);
    expect(holders('ATOLL_MINIO_ROOT_PASSWORD')).toEqual(['init', 'minio']);
    expect(holders('ATOLL_S3_WRITER_SECRET')).toEqual(['init', 'writer']);
    // Keycloak's master admin: Keycloak itself and the one-shot init (realm step-up flow, portal client), no app.
    expect(holders('ATOLL_KEYCLOAK_ADMIN_PASSWORD')).toEqual(['init', 'keycloak']);
  });

  it('the init job creates the Object-Lock license bucket and the service users', () => {
    const env = envOf(podTemplate(workload(r('defaults').docs, 'init', 'Job')).spec.containers[0]!);
    expect(env.ATOLL_INIT_LICENSE_BUCKET?.value).toBe('true');
    expect(env.ATOLL_BUCKET_LICENSES?.value).toBe('atoll-licenses');
    for (const k of ['ATOLL_S3_ROOT_USER', 'ATOLL_S3_ROOT_PASSWORD', 'ATOLL_INIT_S3_API_SECRET', 'ATOLL_INIT_S3_WRITER_SECRET', 'ATOLL_INIT_S3_CLEANROOM_SECRET', 'ATOLL_KEYCLOAK_ADMIN_PASSWORD']) {
      expect(env[k]?.valueFrom?.secretKeyRef, k).toBeDefined();
    }
  });

  it('external services replace the in-cluster ones everywhere', () => {
    const docs = r('external').docs;
    expect(workloads(docs).map(component).sort()).toEqual(['api', 'cleanroom', 'init', 'writer']);
    const env = envOf(podTemplate(workload(docs, 'api')).spec.containers[0]!);
    expect(env.ATOLL_S3_ENDPOINT?.value).toBe('https://s3.storage.example.com');
    expect(env.ATOLL_S3_PUBLIC_ENDPOINT?.value).toBe('https://s3.example.com');
    expect(env.ATOLL_DATABASE_URL?.value).toBe('postgres://atoll_app:$(SECRET_POSTGRES_APP_PASSWORD)@pg.internal.example.com:5432/atoll?sslmode=require');
    expect(env.ATOLL_REDIS_URL?.value).toBe('rediss://:$(SECRET_REDIS_PASSWORD)@redis.internal.example.com:6380/0');
    expect(env.ATOLL_KEYCLOAK_URL?.value).toBe('https://id.example.com');
    expect(env.ATOLL_STRIPE_API_BASE?.value).toBe('https://api.stripe.com');
    expect(env.ATOLL_API_URL?.value).toBe('https://atoll.example.com');
  });

  it('Keycloak imports the repository realm, with every placeholder in its environment', () => {
    const docs = r('defaults').docs;
    const realm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'atoll-keycloak-realm')!.data!['atoll-realm.json']!;
    expect(realm.trim()).toBe(readRepoFile('packages/stack/keycloak/atoll-realm.json').trim());
    const kc = podTemplate(workload(docs, 'keycloak')).spec;
    const c = kc.containers[0]!;
    expect(c.args).toEqual(['start', '--optimized', '--import-realm']);
    const env = envOf(c);
    const placeholders = [...new Set([...realm.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!))];
    expect(placeholders.sort()).toEqual(['ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET', 'ATOLL_OPERATOR_CLIENT_ID', 'ATOLL_OPERATOR_CLIENT_SECRET']);
    for (const p of placeholders) expect(env[p], p).toBeDefined();
    // The api's client secret and Keycloak's copy come from the same Secret key; the issuer is what the api checks.
    const api = envOf(podTemplate(workload(docs, 'api')).spec.containers[0]!);
    expect(env.ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET?.valueFrom).toEqual(api.ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET?.valueFrom);
    expect(env.KC_HOSTNAME?.value).toBe(api.ATOLL_KEYCLOAK_URL?.value);
    const mount = c.volumeMounts?.find((m) => m.mountPath === '/opt/keycloak/data/import');
    expect(kc.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).toBe('atoll-keycloak-realm');
  });
});

describe('bad values fail the install with the name of the value', () => {
  const ok = () => ['-f', secretsValuesFile(randomSecrets())];
  const cases: Array<[string, string[], RegExp]> = [
    ['empty region', ['--set', 'region=', ...ok()], /\/region.*does not match pattern/],
    ['invalid region', ['--set', 'region=EU_West_1', ...ok()], /\/region.*does not match pattern/],
    ['internal and external S3 both on', ['--set', 'region=eu-west-1', '--set', 'externalS3.enabled=true', '--set', 'externalS3.endpoint=https://s3.example.com', ...ok()], /minio\.enabled and externalS3\.enabled are both true/],
    ['no object storage at all', ['--set', 'region=eu-west-1', '--set', 'minio.enabled=false', ...ok()], /minio\.enabled and externalS3\.enabled are both false/],
    ['external Postgres without host', ['--set', 'region=eu-west-1', '--set', 'postgresql.enabled=false', '--set', 'externalPostgresql.enabled=true', ...ok()], /externalPostgresql\.host is required/],
    ['real Stripe without its keys', ['--set', 'stripeMock.enabled=false', '--set', 'stripe.apiBase=https://api.stripe.com'], /must be given, the chart cannot generate them.*\n {2}secrets\.stripeSecretKey \(ATOLL_STRIPE_SECRET_KEY\): your Stripe secret or restricted key\n {2}secrets\.stripeWebhookSecret \(ATOLL_STRIPE_WEBHOOK_SECRET\): the signing secret/],
    ['example placeholders', ['--set', 'region=eu-west-1', '-f', `${chartDir}/examples/production-values.yaml`], /secrets\.\w+ still holds the example placeholder/],
    ['short TID key', ['--set', 'region=eu-west-1', ...ok(), '--set', 'secrets.tidKey=short-but-not-32-characters'], /secrets\.tidKey must be at least 32 characters/],
    ['malformed KMS key', ['--set', 'region=eu-west-1', ...ok(), '--set', 'secrets.minioKmsSecretKey=not-a-kms-key'], /secrets\.minioKmsSecretKey must look like/],
    ['image tag latest', ['--set', 'region=eu-west-1', ...ok(), '--set', 'images.api.tag=latest'], /\/images\/api\/tag/],
    ['unknown value (typo)', ['--set', 'region=eu-west-1', ...ok(), '--set', 'regoin=eu-west-1'], /additional properties 'regoin'/],
    ['wrong environment', ['--set', 'region=eu-west-1', ...ok(), '--set', 'environment=prod'], /\/environment/],
    ['too small an erasure set', ['--set', 'region=eu-west-1', ...ok(), '--set', 'minio.mode=distributed', '--set', 'minio.distributed.replicas=2'], /minio\.distributed\.replicas × minio\.distributed\.drivesPerNode must be at least 4/],
    ['ingress without host', ['--set', 'region=eu-west-1', ...ok(), '--set', 'ingress.enabled=true'], /ingress\.host is required/],
    ['no Stripe at all', ['--set', 'region=eu-west-1', ...ok(), '--set', 'stripeMock.enabled=false', '--set', 'stripe.apiBase='], /stripe\.apiBase is required/],
    ['negative replicas', ['--set', 'region=eu-west-1', ...ok(), '--set', 'api.replicas=0'], /\/api\/replicas/],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    expect(await helmTemplateFails(args)).toMatch(message);
  });

  it('external services without their credentials: every missing one named at once, with what it is', async () => {
    const err = await helmTemplateFails(['-f', `${chartDir}/ci/external-values.yaml`]);
    expect(err).toContain('or set secrets.existingSecret to a Secret holding their keys');
    const named = [...err.matchAll(/^ {2}secrets\.(\w+) \((ATOLL_\w+)\): (.+)$/gm)].map((m) => [m[1], m[2]]);
    expect(named).toEqual([
      ['keycloakAdminClientSecret', 'ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET'],
      ['postgresAppPassword', 'ATOLL_POSTGRES_APP_PASSWORD'],
      ['redisPassword', 'ATOLL_REDIS_PASSWORD'],
      ['s3RootPassword', 'ATOLL_MINIO_ROOT_PASSWORD'],
      ['s3RootUser', 'ATOLL_MINIO_ROOT_USER'],
      ['stripeSecretKey', 'ATOLL_STRIPE_SECRET_KEY'],
      ['stripeWebhookSecret', 'ATOLL_STRIPE_WEBHOOK_SECRET'],
    ]);
    expect(err).toContain('secrets.postgresAppPassword (ATOLL_POSTGRES_APP_PASSWORD): the password of externalPostgresql.username on your PostgreSQL');
    // Given, they are enough: everything else (TID key, KEK, the apps' S3 secrets) is generated.
    const given = { keycloakAdminClientSecret: 'k'.repeat(20), postgresAppPassword: 'p'.repeat(20), redisPassword: 'r'.repeat(20), s3RootUser: 'admin', s3RootPassword: 's'.repeat(20), stripeSecretKey: 'sk_live_x', stripeWebhookSecret: 'whsec_'.padEnd(30, 'w') };
    const { docs } = await renderScenario('external', { kubeVersion: newest, secrets: given });
    const data = decodeSecretData(docs.find((d) => d.kind === 'Secret')!.data);
    expect(data.ATOLL_POSTGRES_APP_PASSWORD).toBe(given.postgresAppPassword);
    expect(data.ATOLL_TID_KEY).toMatch(/^[A-Za-z0-9]{48}$/);
    // Nothing is generated for a component that is not in the cluster.
    expect(Object.keys(data).filter((k) => /SUPERUSER|KEYCLOAK_ADMIN_PASSWORD|OPERATOR|KMS/.test(k))).toEqual([]);
  });

  it('each example placeholder is named on its own', async () => {
    for (const key of ['tidKey', 's3RootPassword', 'operatorClientSecret'] as const) {
      const s = { ...randomSecrets(), [key]: 'change-me-but-long-enough-to-pass-the-length-check' };
      expect(await helmTemplateFails(['--set', 'region=eu-west-1', '-f', secretsValuesFile(s)])).toContain(`secrets.${key} still holds the example placeholder`);
    }
  });
});

describe('helm install --dry-run (against a stand-in API server)', () => {
  it('prints NOTES that tell a new user what to do next', async () => {
    await using api = await startFakeKubeApi(scratch);
    const install = (args: string[]) => helmWith(api.kubeconfig)(['install', 'atoll', chartDir, '--dry-run=client', '--disable-openapi-validation', '--namespace', 'atoll', ...args]);

    const res = await install(['-f', `${chartDir}/ci/defaults-values.yaml`, '-f', secretsValuesFile(randomSecrets())]);
    expect(res.code, res.stderr).toBe(0);
    const notes = res.stdout.slice(res.stdout.indexOf('NOTES:'));
    expect(notes).toContain('kubectl -n atoll wait --for=condition=complete job -l app.kubernetes.io/instance=atoll,app.kubernetes.io/component=init');
    expect(notes).toContain('kubectl -n atoll port-forward svc/atoll-api 8080:8080');
    expect(notes).toContain("kubectl -n atoll get secret atoll-secrets -o jsonpath='{.data.ATOLL_OPERATOR_CLIENT_SECRET}'");
    expect(notes).toContain('/realms/atoll/protocol/openid-connect/token');
    expect(notes).toContain('WARNING: billing goes to stripe-mock');

    const ext = await install(['-f', `${chartDir}/ci/external-values.yaml`, '-f', secretsValuesFile(randomSecrets())]);
    expect(ext.code, ext.stderr).toBe(0);
    expect(ext.stdout).toContain('export ATOLL_API_URL=https://atoll.example.com');
    expect(ext.stdout).toContain('over S3 at: https://s3.example.com');
    expect(ext.stdout).toContain('import helm/atoll/files/atoll-realm.json');
    expect(ext.stdout).not.toContain('stripe-mock');

    const bad = await install(['--set', 'region=not_a_region', '-f', secretsValuesFile(randomSecrets())]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/\/region.*does not match pattern/);
    const example = await install(['-f', `${chartDir}/examples/production-values.yaml`]);
    expect(example.code).not.toBe(0);
    expect(example.stderr).toMatch(/secrets\.\w+ still holds the example placeholder/);
  });
});

describe('storage.kind=seaweedfs: SeaweedFS instead of MinIO', () => {
  const sw = () => r('seaweedfs').docs;
  const seaweedContainer = (docs = sw()) => podTemplate(workload(docs, 'seaweedfs', 'StatefulSet')).spec.containers[0]!;

  it('runs no MinIO at all: no object, image, setting or key of it', () => {
    for (const d of sw()) {
      expect(component(d), `${d.kind}/${d.metadata.name}`).not.toBe('minio');
      expect(d.metadata.name, d.kind).not.toContain('minio');
    }
    const text = JSON.stringify(sw().filter((d) => d.kind !== 'Secret'));
    expect(text).not.toMatch(/MINIO_(?!ROOT_)/); // only the root key's Secret names (ATOLL_MINIO_ROOT_*) remain
    expect(text).not.toContain('atoll/minio');
    expect(text).not.toContain('arn:minio');
    // No pod reads MinIO's KMS key (the bare install below also shows none is generated).
    const keys = workloads(sw()).flatMap((w) => podTemplate(w).spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.key)));
    expect(keys).not.toContain('ATOLL_MINIO_KMS_SECRET_KEY');
    expect(keys).toContain('ATOLL_SEAWEEDFS_SSE_KEK');
    // And the MinIO render runs no SeaweedFS.
    expect(JSON.stringify(r('defaults').docs).toLowerCase()).not.toContain('seaweedfs');
  });

  it('every app (api, writer, cleanroom, init) is told ATOLL_STORAGE=seaweedfs and signs as its dashless service user', () => {
    for (const app of APPS) {
      const env = envOf(podTemplate(workload(sw(), app)).spec.containers[0]!);
      expect(env.ATOLL_STORAGE?.value, app).toBe('seaweedfs');
      expect(env.ATOLL_S3_ENDPOINT?.value, app).toBe('http://atoll-seaweedfs:8333');
      expect(env.ATOLL_S3_ACCESS_KEY?.value, app).toBe(serviceUsers('seaweedfs')[app === 'init' ? 'api' : app]);
    }
    const init = envOf(podTemplate(workload(sw(), 'init', 'Job')).spec.containers[0]!);
    expect([init.ATOLL_INIT_S3_API_USER?.value, init.ATOLL_INIT_S3_WRITER_USER?.value, init.ATOLL_INIT_S3_CLEANROOM_USER?.value]).toEqual(Object.values(serviceUsers('seaweedfs')));
    // No notification target on SeaweedFS (init refuses one): the writer's reconciler lists staging every 10 s.
    expect(init.ATOLL_INIT_STAGING_NOTIFY_ARN?.value).toBe('');
    expect(envOf(podTemplate(workload(sw(), 'writer')).spec.containers[0]!).ATOLL_BULK_RECONCILE_MS?.value).toBe('10000');
    expect(envOf(podTemplate(workload(sw(), 'api')).spec.containers[0]!).ATOLL_S3_PUBLIC_ENDPOINT?.value).toBe('https://s3.example.com');
    // MinIO, for contrast: notifications on, the app's own reconciler default, dashed user names.
    const minio = (app: string) => envOf(podTemplate(workload(r('defaults').docs, app)).spec.containers[0]!);
    expect(minio('init').ATOLL_INIT_STAGING_NOTIFY_ARN?.value).toBe('arn:minio:sqs:us-east-1:ATOLL:redis');
    expect(minio('writer').ATOLL_BULK_RECONCILE_MS).toBeUndefined();
    expect(minio('init').ATOLL_INIT_S3_WRITER_USER?.value).toBe('atoll-writer');
    for (const app of APPS) expect(minio(app).ATOLL_STORAGE?.value, app).toBe('minio');
    // The interval can be set; and an external S3 (no notifications configured) gets the short default too.
    expect(envOf(podTemplate(workload(r('external').docs, 'writer')).spec.containers[0]!).ATOLL_BULK_RECONCILE_MS?.value).toBe('10000');
  });

  it('SeaweedFS runs with the flags, keys and config files of the local stack (packages/stack/src/seaweedfs.ts)', async () => {
    const c = seaweedContainer();
    expect(c.image).toBe(`atoll/seaweedfs:${versions.seaweedfs}`);
    expect(readRepoFile('helm/atoll/Chart.yaml')).toContain(`atoll.io/seaweedfs-version: ${versions.seaweedfs}`);
    const given = secrets.get('seaweedfs')!;
    const stack = await stackSeaweed({ rootUser: given.s3RootUser, rootPassword: given.s3RootPassword, stsSigningKey: given.seaweedfsStsSigningKey!, sseKek: given.seaweedfsSseKek!, jwtKey: given.seaweedfsJwtSigningKey! });
    expect(weedArgsDiff(c.args!, stack.args)).toEqual([]);
    expect(c.args).toContain('-s3.port=8333');
    expect(c.args).toContain('-s3.ip.bind=0.0.0.0'); // only S3 on the pod's address; master, volume, filer on loopback
    expect(c.args).toContain('-ip.bind=127.0.0.1');
    expect(c.args).toContain('-master.volumeSizeLimitMB=256');
    const env = envOf(c);
    for (const k of Object.keys(stack.env)) expect(env, k).toHaveProperty(k);
    expect(env.WEED_MASTER_VOLUME_GROWTH_COPY_1?.value).toBe(stack.env.WEED_MASTER_VOLUME_GROWTH_COPY_1);
    // Each key from the Secret, under the name the image's start script reads.
    const refs = Object.fromEntries((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef!.key]));
    expect(refs).toEqual({
      ATOLL_SEAWEEDFS_ROOT_USER: 'ATOLL_MINIO_ROOT_USER',
      ATOLL_SEAWEEDFS_ROOT_PASSWORD: 'ATOLL_MINIO_ROOT_PASSWORD',
      ATOLL_SEAWEEDFS_STS_SIGNING_KEY: 'ATOLL_SEAWEEDFS_STS_SIGNING_KEY',
      WEED_S3_SSE_KEK: 'ATOLL_SEAWEEDFS_SSE_KEK',
      WEED_JWT_FILER_SIGNING_KEY: 'ATOLL_SEAWEEDFS_JWT_SIGNING_KEY',
    });
    const script = readRepoFile('deploy/seaweedfs/start.sh');
    for (const name of Object.keys(refs)) expect(script, name).toContain(name);
    // The config files go to memory, not to the data volume; the data volume is the persistent claim.
    const pod = podTemplate(workload(sw(), 'seaweedfs', 'StatefulSet')).spec;
    const configMount = c.volumeMounts!.find((m) => m.mountPath === env.ATOLL_SEAWEEDFS_CONFIG_DIR?.value)!;
    expect(pod.volumes?.find((v) => v.name === configMount.name)?.emptyDir).toMatchObject({ medium: 'Memory' });
    const sts = workload(sw(), 'seaweedfs', 'StatefulSet').spec as { replicas: number; volumeClaimTemplates: Array<{ metadata: { name: string }; spec: { storageClassName?: string; resources: { requests: { storage: string } } } }> };
    expect(sts.replicas).toBe(1);
    expect(sts.volumeClaimTemplates.map((v) => [v.metadata.name, v.spec.storageClassName, v.spec.resources.requests.storage])).toEqual([['data', 'fast-ssd', '100Gi']]);
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 's3' } });
  });

  it('network policies: SeaweedFS accepts only the Atoll pods (and the ingress controller for its public endpoint) on 8333, and reaches nothing', () => {
    type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown };
    type Rule = { from?: Peer[]; to?: Peer[]; ports?: Array<{ port: number }> };
    type Policy = { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
    const policy = (comp: string) => sw().filter((d) => d.kind === 'NetworkPolicy').map((d) => d.spec as unknown as Policy).find((p) => p.podSelector.matchLabels['app.kubernetes.io/component'] === comp)!;
    const peers = (rules: Rule[] | undefined, dir: 'from' | 'to') => new Set((rules ?? []).flatMap((x) => (x[dir] ?? []).flatMap((p) => (p.podSelector?.matchLabels && !p.namespaceSelector ? [p.podSelector.matchLabels['app.kubernetes.io/component']] : []))));
    const p = policy('seaweedfs');
    expect(p.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(peers(p.ingress, 'from')).toEqual(new Set(['api', 'writer', 'cleanroom', 'init']));
    expect(new Set((p.ingress ?? []).flatMap((x) => x.ports?.map((port) => port.port)))).toEqual(new Set([8333]));
    expect((p.ingress ?? []).flatMap((x) => x.from ?? []).filter((peer) => peer.namespaceSelector)).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} }]);
    expect(p.egress ?? []).toEqual([]);
    // Redis takes no one but the apps (no notifications), and every app reaches SeaweedFS on its S3 port, not MinIO.
    expect(peers(policy('redis').ingress, 'from')).toEqual(new Set(['api', 'writer', 'cleanroom']));
    for (const app of ['api', 'writer', 'cleanroom', 'init']) {
      const to = (policy(app).egress ?? []).filter((x) => x.to?.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'seaweedfs'));
      expect(to.flatMap((x) => x.ports?.map((port) => port.port)), app).toEqual([8333]);
      expect(peers(policy(app).egress, 'to').has('minio'), app).toBe(false);
    }
    const ingresses = sw().filter((d) => d.kind === 'Ingress').map((d) => d.metadata.name).sort();
    expect(ingresses).toEqual(['atoll-api', 'atoll-seaweedfs']);
  });

  it('bare install with --set storage.kind=seaweedfs: lint, valid manifests, and its own secrets generated', async () => {
    const lint = await run(deployTools().helm, ['lint', '--strict', chartDir, '--set', 'storage.kind=seaweedfs']);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    const template = async (v: string) => {
      const res = await run(deployTools().helm, ['template', 'atoll', chartDir, '--namespace', 'atoll', '--kube-version', v.replace(/^v/, ''), '--set', 'storage.kind=seaweedfs']);
      expect(res.code, res.stderr).toBe(0);
      const file = `${scratch}/bare-seaweedfs-${v}-${Math.random().toString(36).slice(2)}.yaml`;
      writeFileSync(file, res.stdout);
      return { docs: parseDocs(res.stdout), file };
    };
    for (const v of kubeVersions()) {
      const { docs, file } = await template(v);
      expect((await kubeconform([file], v)).valid).toBe(docs.length);
    }
    const [a, b] = await Promise.all([template(newest), template(newest)]);
    const secretOf = (docs: K8sDoc[]) => decodeSecretData(docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'atoll-secrets')!.data);
    const first = secretOf(a.docs);
    const second = secretOf(b.docs);
    expect(Object.keys(first).sort()).toEqual(exampleNames('seaweedfs'));
    expect(first.ATOLL_SEAWEEDFS_SSE_KEK).toMatch(/^[0-9a-f]{64}$/); // WEED_S3_SSE_KEK: 32 bytes in hex
    expect(Buffer.from(first.ATOLL_SEAWEEDFS_STS_SIGNING_KEY!, 'base64')).toHaveLength(32);
    expect(first.ATOLL_SEAWEEDFS_STS_SIGNING_KEY).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(first.ATOLL_SEAWEEDFS_JWT_SIGNING_KEY).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(first.ATOLL_MINIO_ROOT_USER).toMatch(/^root-[a-z0-9]{12}$/);
    for (const [key, value] of Object.entries(first)) expect(second[key], `${key} is the same on two installs`).not.toBe(value);
    expect(new Set(Object.values(first)).size, 'two generated secrets are equal').toBe(Object.keys(first).length);
    for (const d of a.docs.filter((x) => x.kind !== 'Secret')) {
      const text = JSON.stringify(d);
      for (const value of Object.values(first)) expect(text.includes(value), `${d.kind}/${d.metadata.name}`).toBe(false);
    }
  });

  it('install and upgrade against a stand-in API server keep the SeaweedFS secrets; NOTES name its degradations', async () => {
    await using api = await startFakeKubeApi(scratch);
    const helm = helmWith(api.kubeconfig);
    const args = ['--namespace', 'atoll', '--disable-openapi-validation', '--set', 'storage.kind=seaweedfs'];
    const install = await helm(['install', 'atoll', chartDir, ...args]);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain('NOTE: the S3 server is SeaweedFS, one pod on one volume');
    expect(install.stdout).toContain('no bucket notifications (the writer\'s reconciler finds bulk files every\n10000 ms)');
    expect(install.stdout).toContain('ATOLL_SEAWEEDFS_SSE_KEK encrypts every object');
    expect(install.stdout).toContain('set seaweedfs.ingress.enabled=true with seaweedfs.ingress.host');
    const stored = () => decodeSecretData(api.get('v1', 'secrets', 'atoll', 'atoll-secrets')?.data);
    const installed = stored();
    expect(Object.keys(installed).sort()).toEqual(exampleNames('seaweedfs'));
    expect(api.list('apps/v1', 'statefulsets', 'atoll').map((d) => d.metadata.name).sort()).toEqual(['atoll-postgresql', 'atoll-redis', 'atoll-seaweedfs']);
    const upgrade = await helm(['upgrade', 'atoll', chartDir, ...args, '--set', 'logLevel=debug']);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(stored()).toEqual(installed);
  });

  it('an external SeaweedFS: the apps are told its kind, the chart runs no S3 server, the root key must be given', async () => {
    const err = await helmTemplateFails(['-f', `${chartDir}/ci/external-values.yaml`, '--set', 'storage.kind=seaweedfs']);
    expect(err).toContain('secrets.s3RootUser (ATOLL_MINIO_ROOT_USER): an admin user of your S3 server (externalS3)');
    // Given only what must be given: the rest is generated, and nothing for an S3 server the chart does not run.
    const given = { keycloakAdminClientSecret: 'k'.repeat(20), postgresAppPassword: 'p'.repeat(20), redisPassword: 'r'.repeat(20), s3RootUser: 'admin', s3RootPassword: 's'.repeat(20), stripeSecretKey: 'sk_live_x', stripeWebhookSecret: 'whsec_'.padEnd(30, 'w') };
    const { docs } = await renderScenario('external', { kubeVersion: newest, secrets: given, args: ['--set', 'storage.kind=seaweedfs'] });
    expect(workloads(docs).map(component).sort()).toEqual(['api', 'cleanroom', 'init', 'writer']);
    for (const app of APPS) {
      const env = envOf(podTemplate(workload(docs, app)).spec.containers[0]!);
      expect(env.ATOLL_STORAGE?.value, app).toBe('seaweedfs');
      expect(env.ATOLL_S3_ENDPOINT?.value, app).toBe('https://s3.storage.example.com');
      expect(env.ATOLL_S3_ACCESS_KEY?.value, app).toBe(serviceUsers('seaweedfs')[app === 'init' ? 'api' : app]);
    }
    expect(Object.keys(decodeSecretData(docs.find((d) => d.kind === 'Secret')!.data)).filter((k) => k.includes('SEAWEEDFS') || k.includes('KMS'))).toEqual([]);
  });

  const ok = () => ['-f', secretsValuesFile(randomSecrets())];
  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown kind', ['--set', 'storage.kind=ceph', ...ok()], /\/storage\/kind/],
    ['MinIO\'s public endpoint with SeaweedFS', ['--set', 'storage.kind=seaweedfs', '--set', 'minio.ingress.enabled=true', '--set', 'minio.ingress.host=s3.example.com', ...ok()], /minio\.ingress\.enabled is set but storage\.kind=seaweedfs/],
    ['distributed MinIO with SeaweedFS', ['--set', 'storage.kind=seaweedfs', '--set', 'minio.mode=distributed', ...ok()], /minio\.mode=distributed is a MinIO setting, but storage\.kind=seaweedfs/],
    ['SeaweedFS\'s public endpoint with MinIO', ['--set', 'seaweedfs.ingress.enabled=true', '--set', 'seaweedfs.ingress.host=s3.example.com', ...ok()], /seaweedfs\.ingress\.enabled is set but storage\.kind=minio/],
    ['SeaweedFS ingress without host', ['--set', 'storage.kind=seaweedfs', '--set', 'seaweedfs.ingress.enabled=true', ...ok()], /seaweedfs\.ingress\.host is required/],
    ['an SSE key that is not 32 bytes of hex', ['--set', 'storage.kind=seaweedfs', ...ok(), '--set', `secrets.seaweedfsSseKek=${'z'.repeat(64)}`], /secrets\.seaweedfsSseKek must be 64 hex characters/],
    ['a short SSE key', ['--set', 'storage.kind=seaweedfs', ...ok(), '--set', `secrets.seaweedfsSseKek=${'a'.repeat(32)}`], /secrets\.seaweedfsSseKek must be at least 64 characters/],
    ['an STS key that is not base64', ['--set', 'storage.kind=seaweedfs', ...ok(), '--set', 'secrets.seaweedfsStsSigningKey=not-base64-but-long-enough-yes'], /secrets\.seaweedfsStsSigningKey must be standard base64/],
    ['a root password SeaweedFS\'s JSON config cannot hold', ['--set', 'storage.kind=seaweedfs', ...ok(), '--set', 'secrets.s3RootPassword=has"a-quote-inside'], /secrets\.s3RootPassword may hold only letters, digits/],
    ['the SSE key placeholder', ['--set', 'storage.kind=seaweedfs', ...ok(), '--set', 'secrets.seaweedfsSseKek=change-me-seaweedfs-sse-kek-change-me-seaweedfs-sse-kek-change-me'], /secrets\.seaweedfsSseKek still holds the example placeholder/],
    ['volumes too small', ['--set', 'storage.kind=seaweedfs', ...ok(), '--set', 'seaweedfs.volumeSizeLimitMB=1'], /\/seaweedfs\/volumeSizeLimitMB/],
  ];
  it.each(bad)('refuses %s, naming the value', async (_name, args, message) => {
    expect(await helmTemplateFails(args)).toMatch(message);
  });
});
