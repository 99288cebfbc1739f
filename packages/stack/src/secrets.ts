// Per-checkout secrets of the local stack: generated once, random, kept in a 0600 git-ignored file.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { paths } from './paths.js';

const token = (bytes = 24) => randomBytes(bytes).toString('base64url');

function generate() {
  return {
    minioRootUser: `root-${token(6)}`,
    minioRootPassword: token(),
    minioKmsKey: `atoll-sse:${randomBytes(32).toString('base64')}`,
    postgresSuperPassword: token(),
    postgresAppPassword: token(),
    postgresKeycloakPassword: token(),
    redisPassword: token(),
    keycloakAdminPassword: token(),
    keycloakAdminClientSecret: token(),
    operatorClientSecret: token(),
    s3ApiSecret: token(),
    s3WriterSecret: token(),
    s3CleanroomSecret: token(),
    tidKey: token(32),
    // ATOLL_KEK: wraps the api's sealed signing keys (its own secret, so it and the TID key rotate apart).
    kek: token(32),
    // Stripe's webhook signing secret for POST /v1/billing/webhook (the local stack signs test events with it).
    stripeWebhookSecret: `whsec_${token(24)}`,
  };
}

export type StackSecrets = ReturnType<typeof generate>;

export async function loadOrCreateSecrets(): Promise<StackSecrets> {
  if (existsSync(paths.secretsFile)) {
    const stored = JSON.parse(readFileSync(paths.secretsFile, 'utf8')) as Partial<StackSecrets>;
    // New secrets introduced by later versions are added; existing ones never change.
    const merged = { ...generate(), ...stored };
    if (Object.keys(merged).length !== Object.keys(stored).length) await save(merged);
    return merged;
  }
  const fresh = generate();
  await save(fresh);
  return fresh;
}

async function save(s: StackSecrets): Promise<void> {
  await mkdir(dirname(paths.secretsFile), { recursive: true });
  await writeFile(paths.secretsFile, JSON.stringify(s, null, 2), { mode: 0o600 });
}
