// Contract test: schemathesis (pinned, scripts/ensure-schemathesis.mjs) generates requests from GET /openapi.json and
// sends them with real tokens of each role — operator, provider, consumer (Keycloak client credentials) and a device
// (Atoll's JWT-bearer grant). Any 5xx, any response not matching its documented schema, or any error not in the SPEC
// shape ({ error: { code, message, details? } }; the Iceberg REST error model under /iceberg) fails the test.
// Bounded: few examples per operation and a time budget per role; the seed is fixed and printed for replay
// (ATOLL_CONTRACT_SEED=<n> to try another one).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollHttp, clientToken } from '@atoll/stack';
import { env, operator, uniq } from './support/actors.js';
import { deviceToken, registerDevice } from './support/devices.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';

const SEED = Number(process.env.ATOLL_CONTRACT_SEED ?? 20261130);
const MAX_EXAMPLES = Number(process.env.ATOLL_CONTRACT_MAX_EXAMPLES ?? 8);
const SECONDS_PER_ROLE = Number(process.env.ATOLL_CONTRACT_SECONDS_PER_ROLE ?? 45);
const root = join(import.meta.dirname, '..');
const reportDir = join(root, '.atoll', 'contract');

let st: string;
let api: InProcessApi;
const tokens: Record<string, string> = {};

interface Run {
  code: number | null;
  output: string;
}

/** Runs schemathesis without blocking this process's event loop: the api under test is served from it. */
function schemathesis(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(st, args, {
      cwd: reportDir,
      env: { ...process.env, SCHEMATHESIS_HOOKS: 'atoll_checks', PYTHONPATH: join(import.meta.dirname, 'support', 'contract'), NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

beforeAll(async () => {
  const ensured = spawnSync(process.execPath, [join(root, 'scripts', 'ensure-schemathesis.mjs')], { encoding: 'utf8' });
  if (ensured.status !== 0) throw new Error(`ensure-schemathesis failed: ${ensured.stderr}`);
  st = ensured.stdout.trim();
  mkdirSync(reportDir, { recursive: true });
  api = await startInProcessApi();
  const op = await operator();
  tokens.operator = await clientToken(env, env.ATOLL_OPERATOR_CLIENT_ID!, env.ATOLL_OPERATOR_CLIENT_SECRET!);
  const p = await op.call<{ clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `contract provider ${uniq()}` } });
  tokens.provider = await clientToken(env, p.clientId, p.clientSecret);
  const c = await op.call<{ id: string }>('POST', '/v1/consumers', { body: { name: `contract consumer ${uniq()}`, useCase: { category: 'analytics', description: 'contract test' } } });
  const approved = await op.call<{ clientId: string; clientSecret: string }>('POST', `/v1/consumers/${c.id}/approve`);
  tokens.consumer = await clientToken(env, approved.clientId, approved.clientSecret);
  const provider = { http: new AtollHttp(env.ATOLL_API_URL!, tokens.provider) };
  const device = await registerDevice(api.url, provider, `contract-${uniq()}`);
  tokens.device = await deviceToken(api.url, device);
  process.stdout.write(`api contract: schemathesis seed ${SEED} (replay with ATOLL_CONTRACT_SEED=${SEED})\n`);
}, 600_000);

afterAll(async () => {
  await api?.[Symbol.asyncDispose]();
});

// Which operations each role is pointed at (by OpenAPI tag): the ones it may call, plus shared ones it must be refused.
const roles: Array<{ role: string; tags: string }> = [
  { role: 'operator', tags: 'operator|agreements|log|billing|iceberg' },
  { role: 'provider', tags: 'provider|devices|licenses|agreements|billing' },
  { role: 'consumer', tags: 'consumer|billing|iceberg' },
  { role: 'device', tags: 'devices|licenses|log' },
];

describe('OpenAPI contract (schemathesis)', () => {
  for (const { role, tags } of roles) {
    it(`${role} token: no 5xx, responses match their schemas, errors in the SPEC shape`, async () => {
      const run = await schemathesis([
        'run',
        `${api.url}/openapi.json`,
        '--header',
        `Authorization: Bearer ${tokens[role]}`,
        '--checks',
        'not_a_server_error,response_schema_conformance,spec_error_shape',
        '--include-tag-regex',
        `^(${tags})$`,
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        String(MAX_EXAMPLES),
        '--max-time',
        String(SECONDS_PER_ROLE),
        '--seed',
        String(SEED),
        '--workers',
        '1',
        '--request-timeout',
        '30',
        '--suppress-health-check',
        'all',
        '--warnings',
        'off',
        '--output-truncate',
        'true',
        '--report',
        'junit',
        '--report-junit-path',
        join(reportDir, `${role}.xml`),
      ]);
      const summary = /(\d+) generated, (\d+) found/.exec(run.output) ?? /(\d+) generated/.exec(run.output);
      process.stdout.write(`api contract ${role}: ${summary?.[0] ?? 'no summary'}\n`);
      if (run.code !== 0) throw new Error(`schemathesis (${role}, seed ${SEED}) exited ${run.code}:\n${run.output.slice(-12_000)}`);
      expect(run.code).toBe(0);
    }, (SECONDS_PER_ROLE + 120) * 1000);
  }
});
