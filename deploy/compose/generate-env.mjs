#!/usr/bin/env node
// Prints .env.example with every "change-me" placeholder replaced by a fresh random secret (Node builtins only):
//   node deploy/compose/generate-env.mjs > .env
// The MinIO KMS key keeps its `<name>:<base64 32 bytes>` shape; everything else is URL-safe base64, because the
// secrets end up inside postgres:// and redis:// URLs.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const example = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.env.example');
const token = (bytes) => randomBytes(bytes).toString('base64url');

const lines = readFileSync(example, 'utf8').split('\n').map((line) => {
  const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
  if (!m || !m[2].includes('change-me')) return line;
  const [, name] = m;
  if (name === 'ATOLL_MINIO_KMS_SECRET_KEY') return `${name}=atoll-sse:${randomBytes(32).toString('base64')}`;
  if (name === 'ATOLL_MINIO_ROOT_USER') return `${name}=root-${token(6)}`;
  return `${name}=${token(name === 'ATOLL_TID_KEY' ? 32 : 24)}`;
});
process.stdout.write(lines.join('\n'));
