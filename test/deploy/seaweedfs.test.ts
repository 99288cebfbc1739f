// The SeaweedFS image (deploy/seaweedfs), proven without a Docker engine: the Dockerfile builds the commit the local
// stack pins, and its start script — run here as a process, with a stand-in `weed` that records what it was given —
// writes the same root identity and IAM/STS files as the local stack, passes them to weed, and refuses bad keys by name.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { versions } from '@atoll/stack';
import { randomSeaweedSecrets, readRepoFile, removeScratch, repo, run, scratch, stackSeaweed } from './support/deploy.js';

afterAll(removeScratch);

const startScript = join(repo, 'deploy', 'seaweedfs', 'start.sh');

/** A stand-in weed: records its arguments, environment and the config files it was pointed at. */
function fakeWeed(name: string): { bin: string; record: string } {
  const bin = join(scratch, `${name}-weed`);
  const record = join(scratch, `${name}-record.json`);
  writeFileSync(
    bin,
    `#!/usr/bin/env node
const fs = require('node:fs');
const file = (flag) => { const a = process.argv.find((x) => x.startsWith('-' + flag + '=')); return a && fs.readFileSync(a.slice(flag.length + 2), 'utf8'); };
fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), env: process.env, identities: file('s3.config'), iam: file('s3.iam.config') }));
`,
  );
  chmodSync(bin, 0o755);
  return { bin, record };
}

function keys() {
  const s = randomSeaweedSecrets();
  return { rootUser: `root-${randomBytes(6).toString('base64url')}`, rootPassword: randomBytes(24).toString('base64url'), stsSigningKey: s.seaweedfsStsSigningKey, sseKek: s.seaweedfsSseKek, jwtKey: s.seaweedfsJwtSigningKey };
}

async function start(name: string, env: Record<string, string>, args: string[] = ['server', '-s3']) {
  const weed = fakeWeed(name);
  const configDir = join(scratch, `${name}-config`);
  const r = await run('bash', [startScript, ...args], { env: { PATH: process.env.PATH ?? '', ATOLL_SEAWEEDFS_WEED: weed.bin, ATOLL_SEAWEEDFS_CONFIG_DIR: configDir, ...env } });
  return { ...r, configDir, recorded: () => JSON.parse(readFileSync(weed.record, 'utf8')) as { args: string[]; env: Record<string, string>; identities: string; iam: string } };
}

const envOf = (k: ReturnType<typeof keys>) => ({
  ATOLL_SEAWEEDFS_ROOT_USER: k.rootUser,
  ATOLL_SEAWEEDFS_ROOT_PASSWORD: k.rootPassword,
  ATOLL_SEAWEEDFS_STS_SIGNING_KEY: k.stsSigningKey,
  WEED_S3_SSE_KEK: k.sseKek,
  WEED_JWT_FILER_SIGNING_KEY: k.jwtKey,
});

describe('deploy/seaweedfs/Dockerfile', () => {
  const dockerfile = readRepoFile('deploy/seaweedfs/Dockerfile');

  it('builds the SeaweedFS commit the local stack pins, the way install.ts does, and runs it as non-root', () => {
    expect(dockerfile).toContain(`ARG SEAWEEDFS_VERSION=${versions.seaweedfs}`);
    expect(dockerfile).toContain('go mod download "github.com/seaweedfs/seaweedfs@${SEAWEEDFS_VERSION}"');
    expect(dockerfile).toContain('go build -trimpath -o /out/weed ./weed');
    expect(dockerfile).toMatch(/^USER 10003:10003$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["/usr/local/bin/atoll-seaweedfs"]');
    expect(dockerfile).toContain('COPY start.sh /usr/local/bin/atoll-seaweedfs');
    for (const [, image] of dockerfile.matchAll(/^ARG (?:GO|BASE)_IMAGE=(\S+)$/gm)) {
      expect(image).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(image!.endsWith(':latest')).toBe(false);
    }
    // The same builder and base images as the MinIO image (one set of pins to bump).
    const minio = readRepoFile('deploy/minio/Dockerfile');
    for (const arg of ['GO_IMAGE', 'BASE_IMAGE']) expect(dockerfile).toContain(new RegExp(`^ARG ${arg}=.*$`, 'm').exec(minio)![0]);
  });
});

describe('deploy/seaweedfs/start.sh', () => {
  it('writes the local stack\'s root identity and IAM/STS files (0600) and hands them to weed with the given arguments', async () => {
    const k = keys();
    const r = await start('ok', envOf(k), ['server', '-dir=/data', '-s3']);
    expect(r.code, r.stderr).toBe(0);
    const got = r.recorded();
    expect(got.args).toEqual(['server', '-dir=/data', '-s3', `-s3.config=${r.configDir}/s3-identities.json`, `-s3.iam.config=${r.configDir}/s3-iam.json`]);
    const stack = await stackSeaweed(k);
    expect(JSON.parse(got.identities)).toEqual(stack.identities);
    expect(JSON.parse(got.iam)).toEqual(stack.iam);
    // The keys weed reads itself arrive; the ones only the files need do not.
    expect(got.env.WEED_S3_SSE_KEK).toBe(k.sseKek);
    expect(got.env.WEED_JWT_FILER_SIGNING_KEY).toBe(k.jwtKey);
    for (const name of ['ATOLL_SEAWEEDFS_ROOT_USER', 'ATOLL_SEAWEEDFS_ROOT_PASSWORD', 'ATOLL_SEAWEEDFS_STS_SIGNING_KEY']) expect(got.env[name], name).toBeUndefined();
    const mode = (await run('stat', ['-c', '%a', `${r.configDir}/s3-identities.json`, `${r.configDir}/s3-iam.json`, r.configDir])).stdout.trim().split('\n');
    expect(mode).toEqual(['600', '600', '700']);
  });

  it('refuses a missing or malformed key, naming it, before weed starts', async () => {
    const k = keys();
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['no SSE key', { WEED_S3_SSE_KEK: '' }, /WEED_S3_SSE_KEK is not set/],
      ['the .env.example placeholder as SSE key', { WEED_S3_SSE_KEK: 'change-me-seaweedfs-sse-kek' }, /WEED_S3_SSE_KEK must be 64 hex characters/],
      ['a 16-byte SSE key', { WEED_S3_SSE_KEK: randomBytes(16).toString('hex') }, /WEED_S3_SSE_KEK must be 64 hex characters/],
      ['STS key not base64', { ATOLL_SEAWEEDFS_STS_SIGNING_KEY: 'change-me-seaweedfs-sts-signing-key' }, /ATOLL_SEAWEEDFS_STS_SIGNING_KEY must be standard base64/],
      ['STS key too short', { ATOLL_SEAWEEDFS_STS_SIGNING_KEY: randomBytes(8).toString('base64') }, /ATOLL_SEAWEEDFS_STS_SIGNING_KEY must be standard base64 of at least 16 bytes/],
      ['a quote in the root password (it would break the JSON)', { ATOLL_SEAWEEDFS_ROOT_PASSWORD: 'abc"defghij' }, /ATOLL_SEAWEEDFS_ROOT_PASSWORD may hold only/],
      ['a short root password', { ATOLL_SEAWEEDFS_ROOT_PASSWORD: 'short' }, /ATOLL_SEAWEEDFS_ROOT_PASSWORD must be at least 8/],
      ['no root user', { ATOLL_SEAWEEDFS_ROOT_USER: '' }, /ATOLL_SEAWEEDFS_ROOT_USER is not set/],
      ['a short filer JWT key', { WEED_JWT_FILER_SIGNING_KEY: 'short-key' }, /WEED_JWT_FILER_SIGNING_KEY must be at least 32/],
    ];
    for (const [name, change, message] of cases) {
      const r = await start(`bad-${cases.findIndex((c) => c[0] === name)}`, { ...envOf(k), ...change });
      expect(r.code, name).toBe(64);
      expect(r.stderr, name).toMatch(message);
      expect(() => r.recorded(), `${name}: weed must not start`).toThrow();
    }
  });
});
