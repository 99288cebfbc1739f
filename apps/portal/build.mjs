#!/usr/bin/env node
// Builds the portal with Vite into apps/portal/dist when the build is missing or older than its sources (or always
// with --force). Called by scripts/bootstrap.mjs before `npm start`, `npm test` and `npm run stack`, and by the
// Dockerfile. Prints nothing when the build is current.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const stamp = join(here, 'dist', 'index.html');
const sources = [join(here, 'src'), join(here, 'index.html'), join(here, 'vite.config.ts'), join(here, 'package.json')];

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((e) => newest(join(path, e))));
}

export function portalIsStale() {
  return !existsSync(stamp) || Math.max(...sources.map(newest)) > statSync(stamp).mtimeMs;
}

export async function buildPortal({ force = false, quiet = false } = {}) {
  if (!force && !portalIsStale()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(here, 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info' });
  // Compressed twins that the api serves (@fastify/static preCompressed) to browsers that accept them.
  const assets = join(here, 'dist', 'assets');
  for (const name of readdirSync(assets).filter((n) => /\.(js|css)$/.test(n))) {
    const raw = readFileSync(join(assets, name));
    writeFileSync(join(assets, `${name}.gz`), gzipSync(raw, { level: 9 }));
    writeFileSync(join(assets, `${name}.br`), brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPortal({ force: process.argv.includes('--force'), quiet: process.argv.includes('--quiet') });
}
