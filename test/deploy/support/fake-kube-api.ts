// Just enough of a Kubernetes API server for Helm without a cluster: version and discovery, and an in-memory object
// store (create, get, list by label, replace, merge-patch, delete). `helm install --dry-run` refuses to run without an
// API server; `helm install`, `helm upgrade` and `helm uninstall` keep their release records and objects here, and the
// chart's `lookup` reads them back. It schedules nothing, runs no controllers and checks no schemas (kubeconform does
// that); strategic-merge patches are applied as JSON merge patches, which is exact for a Secret's data.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** group → version → [resource, Kind, namespaced] for every kind the chart renders. */
const groups: Record<string, Record<string, Array<[string, string, boolean]>>> = {
  '': { v1: [['configmaps', 'ConfigMap', true], ['secrets', 'Secret', true], ['services', 'Service', true], ['serviceaccounts', 'ServiceAccount', true], ['namespaces', 'Namespace', false]] },
  apps: { v1: [['deployments', 'Deployment', true], ['statefulsets', 'StatefulSet', true]] },
  batch: { v1: [['jobs', 'Job', true]] },
  'networking.k8s.io': { v1: [['networkpolicies', 'NetworkPolicy', true], ['ingresses', 'Ingress', true]] },
  policy: { v1: [['poddisruptionbudgets', 'PodDisruptionBudget', true]] },
  autoscaling: { v2: [['horizontalpodautoscalers', 'HorizontalPodAutoscaler', true]] },
};

const resourceList = (groupVersion: string, resources: Array<[string, string, boolean]>) => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion,
  resources: resources.map(([name, kind, namespaced]) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })),
});

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface FakeKubeApi extends AsyncDisposable {
  kubeconfig: string;
  /** An object as stored, e.g. get('v1', 'secrets', 'atoll', 'atoll-secrets'); undefined when absent. */
  get(groupVersion: string, resource: string, namespace: string, name: string): KubeObject | undefined;
  /** Stores an object as if someone had created it (e.g. a Secret left by an earlier install). */
  put(groupVersion: string, resource: string, object: KubeObject): void;
  /** Every stored object of one resource in one namespace. */
  list(groupVersion: string, resource: string, namespace: string): KubeObject[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386, skipping strategic-merge directives ($patch, $setElementOrder/…, $retainKeys). */
function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated. */
function matchesSelector(labels: Record<string, string>, selector: string): boolean {
  return selector
    .split(',')
    .filter(Boolean)
    .every((term) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(term);
      if (ne) return labels[ne[1]!] !== ne[2];
      const eq = /^([^!=]+)==?(.*)$/.exec(term);
      if (eq) return labels[eq[1]!] === eq[2];
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** Protocol-buffer fields of one message: field number → raw values (varints as numbers, the rest as bytes). */
function protoFields(buf: Buffer): Map<number, Array<number | Buffer>> {
  const fields = new Map<number, Array<number | Buffer>>();
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = buf[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const [field, wire] = [Math.floor(tag / 8), tag % 8];
    let value: number | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      value = buf.subarray(at, at + len);
      at += len;
    } else if (wire === 1 || wire === 5) {
      value = buf.subarray(at, at + (wire === 1 ? 8 : 4));
      at += wire === 1 ? 8 : 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

/**
 * A Secret sent as Kubernetes protobuf (the "k8s\0" envelope around runtime.Unknown, around core/v1 Secret), as
 * client-go's typed clientset sends Helm's release records. Written here because only these few fields of one kind
 * are needed: ObjectMeta name (1), namespace (3), labels (11), annotations (12); Secret data (2) and type (3).
 */
function decodeProtobufSecret(body: Buffer): KubeObject {
  if (body.subarray(0, 4).toString('latin1') !== 'k8s\0') throw new Error('not a Kubernetes protobuf body');
  const str = (v: number | Buffer | undefined) => (Buffer.isBuffer(v) ? v.toString('utf8') : '');
  const map = (entries: Array<number | Buffer> | undefined, value: (b: Buffer) => string) =>
    Object.fromEntries((entries ?? []).map((e) => protoFields(e as Buffer)).map((f) => [str(f.get(1)?.[0]), value((f.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0))]));
  const secret = protoFields(protoFields(body.subarray(4)).get(2)![0] as Buffer);
  const meta = protoFields((secret.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: str(meta.get(1)?.[0]), namespace: str(meta.get(3)?.[0]), labels: map(meta.get(11), (b) => b.toString('utf8')), annotations: map(meta.get(12), (b) => b.toString('utf8')) },
    data: map(secret.get(2), (b) => b.toString('base64')),
    type: str(secret.get(3)?.[0]),
  };
}

export async function startFakeKubeApi(dir: string, kubeVersion = { major: '1', minor: '37' }): Promise<FakeKubeApi> {
  const store = new Map<string, KubeObject>();
  const keyOf = (gv: string, resource: string, ns: string, name: string) => `${gv}|${resource}|${ns}|${name}`;
  const kindOf = (gv: string, resource: string) => {
    const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
    return groups[group!]?.[version!]?.find(([r]) => r === resource)?.[1];
  };
  let resourceVersion = 1;
  const stamp = (gv: string, resource: string, ns: string, obj: KubeObject, previous?: KubeObject): KubeObject => {
    resourceVersion += 1;
    const metadata = { ...obj.metadata, namespace: ns, resourceVersion: String(resourceVersion), uid: previous?.metadata.uid ?? `uid-${resourceVersion}`, creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString() };
    return { ...obj, apiVersion: gv, kind: kindOf(gv, resource) ?? obj.kind, metadata };
  };
  const listOf = (gv: string, resource: string, ns: string) => [...store.entries()].filter(([k]) => k.startsWith(`${gv}|${resource}|${ns}|`)).map(([, o]) => o);

  const server: Server = createServer((req, res) => {
    const send = (body: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const status = (code: number, reason: string, message: string) => send({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }, code);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/version') return send({ ...kubeVersion, gitVersion: `v${kubeVersion.major}.${kubeVersion.minor}.0`, platform: 'linux/amd64' });
    if (path === '/api') return send({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/api/v1') return send(resourceList('v1', groups['']!.v1!));
    if (path === '/apis') {
      const list = Object.entries(groups)
        .filter(([g]) => g !== '')
        .map(([name, versions]) => {
          const vs = Object.keys(versions).map((version) => ({ groupVersion: `${name}/${version}`, version }));
          return { name, versions: vs, preferredVersion: vs[0] };
        });
      return send({ kind: 'APIGroupList', apiVersion: 'v1', groups: list });
    }
    const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    const resources = m ? groups[m[1]!]?.[m[2]!] : undefined;
    if (m && resources) return send(resourceList(`${m[1]}/${m[2]}`, resources));

    // Namespaced objects: /api/v1/namespaces/<ns>/<resource>[/<name>] and /apis/<group>/<version>/namespaces/…
    const o = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!o || !kindOf(o[1] ?? o[2]!, o[4]!)) return status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${path})`);
    const [gv, ns, resource, name] = [o[1] ?? o[2]!, o[3]!, o[4]!, o[5]];
    void (async () => {
      const raw = ['POST', 'PUT', 'PATCH'].includes(req.method ?? '') ? await readBody(req) : Buffer.alloc(0);
      const type = req.headers['content-type'] ?? '';
      const parse = (): KubeObject => {
        if (type.includes('protobuf') && resource === 'secrets') return decodeProtobufSecret(raw);
        if (!type.includes('json')) throw new Error(`unsupported body type ${type}`);
        return JSON.parse(raw.toString('utf8')) as KubeObject;
      };
      const existing = name ? store.get(keyOf(gv, resource, ns, name)) : undefined;
      const notFound = () => status(404, 'NotFound', `${resource} "${name}" not found`);
      switch (req.method) {
        case 'GET': {
          if (name) return existing ? send(existing) : notFound();
          const selector = url.searchParams.get('labelSelector') ?? '';
          const items = listOf(gv, resource, ns).filter((x) => matchesSelector(x.metadata.labels ?? {}, selector));
          return send({ kind: `${kindOf(gv, resource)}List`, apiVersion: gv, metadata: { resourceVersion: String(resourceVersion) }, items });
        }
        case 'POST': {
          const obj = parse();
          const key = keyOf(gv, resource, ns, obj.metadata.name);
          if (store.has(key)) return status(409, 'AlreadyExists', `${resource} "${obj.metadata.name}" already exists`);
          if (url.searchParams.has('dryRun')) return send(stamp(gv, resource, ns, obj), 201);
          store.set(key, stamp(gv, resource, ns, obj));
          return send(store.get(key), 201);
        }
        case 'PUT': {
          if (!existing) return notFound();
          store.set(keyOf(gv, resource, ns, name!), stamp(gv, resource, ns, parse(), existing));
          return send(store.get(keyOf(gv, resource, ns, name!)));
        }
        case 'PATCH': {
          if (!existing) return notFound();
          if (!type.includes('merge-patch')) return status(415, 'UnsupportedMediaType', `only merge patches here, not ${type}`);
          const patched = mergePatch(existing as unknown as Json, JSON.parse(raw.toString('utf8')) as Json) as unknown as KubeObject;
          store.set(keyOf(gv, resource, ns, name!), stamp(gv, resource, ns, patched, existing));
          return send(store.get(keyOf(gv, resource, ns, name!)));
        }
        case 'DELETE': {
          if (!existing) return notFound();
          store.delete(keyOf(gv, resource, ns, name!));
          return send(existing);
        }
        default:
          return status(405, 'MethodNotAllowed', `${req.method} is not supported here`);
      }
    })().catch((e: unknown) => status(500, 'InternalError', String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, `kubeconfig-${port}`);
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:${port}" } }]`,
      'users: [{ name: fake, user: {} }]',
      'contexts: [{ name: fake, context: { cluster: fake, user: fake } }]',
      'current-context: fake',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return {
    kubeconfig,
    get: (gv, resource, ns, name) => structuredClone(store.get(keyOf(gv, resource, ns, name))),
    put: (gv, resource, object) => {
      const ns = object.metadata.namespace ?? 'default';
      store.set(keyOf(gv, resource, ns, object.metadata.name), stamp(gv, resource, ns, structuredClone(object)));
    },
    list: (gv, resource, ns) => structuredClone(listOf(gv, resource, ns)),
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
