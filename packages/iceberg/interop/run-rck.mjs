#!/usr/bin/env node
// Runs Apache Iceberg's REST Compatibility Kit (RESTCompatibilityKitSuite from the published 1.10 test jars) against a
// running Atoll's /iceberg as the operator, with the JUnit console launcher; prints JUnit's tree and summary.
//   source .atoll/stack.env && node packages/iceberg/interop/run-rck.mjs [--report <dir>]
// The kit's own Iceberg Java client fetches its token at Keycloak (client credentials, scope openid) and refreshes it.
// Settings that describe this catalog (see docs/engines.md): namespaces must be created before their tables, and the
// catalog chooses table locations.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

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
};
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
process.exit(res.status ?? 1);
