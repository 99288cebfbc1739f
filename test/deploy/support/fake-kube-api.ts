// Just enough of a Kubernetes API server (version + discovery, nothing stored) for `helm install --dry-run=client`,
// which refuses to run without a cluster. It lets the tests see what a user sees: NOTES.txt and install errors.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
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

export interface FakeKubeApi extends AsyncDisposable {
  kubeconfig: string;
}

export async function startFakeKubeApi(dir: string, kubeVersion = { major: '1', minor: '37' }): Promise<FakeKubeApi> {
  const server: Server = createServer((req, res) => {
    const send = (body: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = (req.url ?? '/').split('?')[0]!;
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
    // Every object lookup: "not found", i.e. a fresh cluster.
    return send({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }, 404);
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
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
