#!/usr/bin/env node
// Prints .env.example with every "change-me" placeholder replaced by a fresh random secret (Node builtins only).
//   node deploy/compose/generate-env.mjs > .env                       # docker compose
//   node deploy/compose/generate-env.mjs --secrets-only > secrets.env # only the secrets: a Kubernetes Secret via
//                                                                     # kubectl --from-env-file or kustomize
// The MinIO KMS key keeps its `<name>:<base64 of 32 bytes>` shape; everything else is URL-safe base64 because the
// secrets end up inside postgres:// and redis:// URLs.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const example = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.env.example');
const secretsOnly = process.argv.includes('--secrets-only');
const token = (bytes) => randomBytes(bytes).toString('base64url');

function fresh(name) {
  if (name === 'ATOLL_MINIO_KMS_SECRET_KEY') return `atoll-sse:${randomBytes(32).toString('base64')}`;
  if (name === 'ATOLL_MINIO_ROOT_USER') return `root-${token(6)}`;
  // SeaweedFS: WEED_S3_SSE_KEK is 32 bytes in hex; the STS signing key is standard base64 (decoded into bytes).
  if (name === 'ATOLL_SEAWEEDFS_SSE_KEK') return randomBytes(32).toString('hex');
  if (name === 'ATOLL_SEAWEEDFS_STS_SIGNING_KEY') return randomBytes(32).toString('base64');
  // stripe-mock accepts sk_test_<anything without underscores>; with real Stripe, put your restricted key here.
  if (name === 'ATOLL_STRIPE_SECRET_KEY') return `sk_test_${randomBytes(16).toString('hex')}`;
  return token(name === 'ATOLL_TID_KEY' || name === 'ATOLL_KEK' ? 32 : 24);
}

const out = [];
for (const line of readFileSync(example, 'utf8').split('\n')) {
  const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
  const isSecret = m !== null && m[2].includes('change-me');
  if (isSecret) out.push(`${m[1]}=${fresh(m[1])}`);
  else if (!secretsOnly) out.push(line);
}
process.stdout.write(`${out.join('\n').trimEnd()}\n`);
