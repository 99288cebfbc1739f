#!/usr/bin/env node
// Runs Apache Iceberg's REST Compatibility Kit (RESTCompatibilityKitSuite from the published 1.10 test jars) against a
// running Atoll's /iceberg as the operator, with the JUnit console launcher; prints JUnit's tree and summary.
//   source .atoll/stack.env && node packages/iceberg/interop/run-rck.mjs [--report <dir>] [--reset]
// The kit's own Iceberg Java client fetches its token at Keycloak (client credentials, scope openid) and refreshes it.
// Settings that describe this catalog (see docs/engines.md): namespaces must be created before their tables, and the
// catalog chooses table locations.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';
import { URLSearchParams, fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const env = process.env;
for (const k of ['ATOLL_API_URL', 'ATOLL_KEYCLOAK_URL', 'ATOLL_REALM', 'ATOLL_OPERATOR_CLIENT_ID', 'ATOLL_OPERATOR_CLIENT_SECRET']) {
  if (!env[k]) {
    process.stderr.write(`run-rck: ${k} is not set (source .atoll/stack.env)\n`);
    process.exit(2);
  }
}
const jars = spawnSync(process.execPath, [join(here, 'ensure-spark-jars.mjs'), 'rck'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (jars.status !== 0) process.exit(jars.status ?? 1);
const classpath = jars.stdout.trim().split(',').join(':');
const props = {
  'rck.local': 'false',
  'rck.requires-namespace-create': 'true',
  'rck.overrides-requested-location': 'true',
  uri: `${env.ATOLL_API_URL}/iceberg`,
  credential: `${env.ATOLL_OPERATOR_CLIENT_ID}:${env.ATOLL_OPERATOR_CLIENT_SECRET}`,
  'oauth2-server-uri': `${env.ATOLL_KEYCLOAK_URL}/realms/${env.ATOLL_REALM}/protocol/openid-connect/token`,
  scope: 'openid',
  'header.X-Iceberg-Access-Delegation': 'vended-credentials',
  // Client-side catalog defaults the kit's view tests expect (Iceberg's own RCK server is configured with the same):
  // view-default.* apply unless the view sets the key, view-override.* always win. They configure the kit's client only.
  'view-default.key1': 'catalog-default-key1',
  'view-default.key2': 'catalog-default-key2',
  'view-override.key3': 'catalog-override-key3',
  'view-override.key4': 'catalog-override-key4',
};
// Namespaces the kit's tests create. The kit refuses to start while `ns` or `newdb` exist and leaves the last test's
// entries behind, so a test stack is reset before and after a run with --reset (drops only these namespaces, their
// tables — purged — and views; never use it against a catalog whose namespaces of these names hold real data).
const KIT_NAMESPACES = ['ns', 'newdb', 'ns1', 'ns2', 'ns_1', 'ns_2', 'other_ns', 'a', 'b', 'non_existing'];

const { fetch } = globalThis;

async function resetKitNamespaces() {
  const tokenRes = await fetch(props['oauth2-server-uri'], {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: env.ATOLL_OPERATOR_CLIENT_ID, client_secret: env.ATOLL_OPERATOR_CLIENT_SECRET, scope: 'openid' }),
  });
  if (!tokenRes.ok) throw new Error(`run-rck: token request failed with ${tokenRes.status}`);
  const { access_token: token } = await tokenRes.json();
  const call = async (method, path) => {
    const res = await fetch(`${props.uri}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (!res.ok && res.status !== 404) throw new Error(`run-rck: ${method} ${path} → ${res.status} ${text}`);
    return res.ok && text ? JSON.parse(text) : null;
  };
  for (const ns of KIT_NAMESPACES) {
    const tables = await call('GET', `/v1/namespaces/${ns}/tables`);
    if (tables === null) continue;
    for (const t of tables.identifiers) await call('DELETE', `/v1/namespaces/${ns}/tables/${encodeURIComponent(t.name)}?purgeRequested=true`);
    for (const v of (await call('GET', `/v1/namespaces/${ns}/views`))?.identifiers ?? []) await call('DELETE', `/v1/namespaces/${ns}/views/${encodeURIComponent(v.name)}`);
    await call('DELETE', `/v1/namespaces/${ns}`);
  }
}

const reset = process.argv.includes('--reset');
if (reset) await resetKitNamespaces();
const reportIdx = process.argv.indexOf('--report');
const args = [
  '-Xmx1g',
  ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
  '-cp',
  classpath,
  'org.junit.platform.console.ConsoleLauncher',
  'execute',
  '--select-class',
  'org.apache.iceberg.rest.RESTCompatibilityKitSuite',
  '--details=tree',
  '--disable-banner',
  ...(reportIdx > 0 && process.argv[reportIdx + 1] ? ['--reports-dir', process.argv[reportIdx + 1]] : []),
];
const res = spawnSync(env.ATOLL_JAVA || 'java', args, { stdio: 'inherit' });
if (reset) await resetKitNamespaces();
process.exit(res.status ?? 1);
