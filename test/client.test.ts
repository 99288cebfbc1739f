// The client library: the README quickstart run verbatim against the stack (in-process api), and the browser bundle.
import { readFile } from 'node:fs/promises';
import { generateKeyPairSync, verify } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as AtollClientModule from '@atoll/client';
import { parseDevicePublicKey } from '@atoll/identity';
import { clientToken } from '@atoll/stack';
import { quickstart } from '../packages/client/examples/quickstart.js';
import { startInProcessApi, type InProcessApi } from './support/inprocess-api.js';
import { env, operator, uniq } from './support/actors.js';

let api: InProcessApi;
beforeAll(async () => {
  api = await startInProcessApi();
});
afterAll(async () => {
  await api[Symbol.asyncDispose]();
});

describe('@atoll/client', () => {
  it('the README quickstart is examples/quickstart.ts, and it runs: register, license, status, upload', async () => {
    const readme = await readFile('packages/client/README.md', 'utf8');
    const block = /<!-- quickstart:start -->\n```ts\n([\s\S]*?)```\n<!-- quickstart:end -->/.exec(readme)?.[1];
    expect(block).toBe(await readFile('packages/client/examples/quickstart.ts', 'utf8'));

    const op = await operator();
    const p = await op.call<{ id: string; clientId: string; clientSecret: string }>('POST', '/v1/providers', { body: { name: `provider ${uniq()}` } });
    const providerToken = await clientToken(env, p.clientId, p.clientSecret);
    const schema = await fetch(`${api.url}/v1/schemas`, {
      method: 'POST',
      headers: { authorization: `Bearer ${providerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ table: 'events', dataset: `events_${uniq()}`, columns: [{ name: 'user_id', type: 'string', role: 'user_id' }, { name: 'kind', type: 'string' }, { name: 'value', type: 'long' }] }),
    });
    await op.call('POST', `/v1/schemas/${((await schema.json()) as { id: string }).id}/approve`);

    const userId = `user-${uniq()}`;
    const r = await quickstart({ baseUrl: api.url, providerToken, userId });
    expect(r.active).toBe(true);
    expect(r.upload.records).toBe(1);
    const { rows } = await api.deps.pool.query<{ tid: string; user_id: string }>('SELECT tid, user_id FROM devices WHERE id = $1', [r.deviceId]);
    expect(rows[0]).toEqual({ tid: r.tid, user_id: userId });
  });

  it('bundles for the browser without node: imports, and the bundle signs what node:crypto verifies', async () => {
    const out = await build({ entryPoints: ['packages/client/src/index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    const code = out.outputFiles[0]!.text;
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toMatch(/["']node:/);
    expect(code).not.toMatch(/require\(["'](crypto|fs|buffer|process)["']\)/);

    // Run the browser bundle where a browser would: a fresh global with Web Crypto and no process, require or Buffer.
    const iife = await build({ entryPoints: ['packages/client/src/index.ts'], bundle: true, platform: 'browser', format: 'iife', globalName: 'AtollClient', write: false, logLevel: 'silent' });
    // Typed arrays come from this realm so Web Crypto's results (made here) pass forge's instanceof checks.
    const sandbox: Record<string, unknown> = { crypto: globalThis.crypto, TextEncoder, TextDecoder, setTimeout, clearTimeout, console, ArrayBuffer, Uint8Array, DataView };
    sandbox.self = sandbox;
    sandbox.window = sandbox;
    runInNewContext(iife.outputFiles[0]!.text, sandbox);
    const mod = sandbox.AtollClient as typeof AtollClientModule;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const message = 'attestation ✓ with UTF-8';
    const signature = mod.signUtf8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), message);
    expect(verify('sha256', Buffer.from(message, 'utf8'), publicKey, Buffer.from(signature, 'base64url'))).toBe(true);

    // Key generation on the browser path (Web Crypto under forge) yields a key the server accepts.
    const t0 = performance.now();
    const pair = await mod.generateDeviceKeyPair();
    console.log(`browser-bundle RSA-2048 key generation: ${(performance.now() - t0).toFixed(0)} ms`);
    const parsed = parseDevicePublicKey(pair.publicKeyPem);
    const signed = mod.signUtf8(pair.privateKeyPem, message);
    expect(verify('sha256', Buffer.from(message, 'utf8'), parsed, Buffer.from(signed, 'base64url'))).toBe(true);
  });
});
