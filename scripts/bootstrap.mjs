// Runs before `npm start`, `npm test` and `npm run bench`: installs the npm dependencies (Node builtins only) when they
// are missing or older than the lockfile, then builds the web portal when its build is missing or stale. The stack's
// own binaries are installed by packages/stack.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');

const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
if (stale) {
  if (!quiet) console.error('[bootstrap] installing npm dependencies (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The web portal (apps/portal) is served by the api from its Vite build: build it when missing or older than its sources.
const { buildPortal, portalIsStale } = await import('../apps/portal/build.mjs');
if (portalIsStale()) {
  if (!quiet) console.error('[bootstrap] building the web portal (apps/portal)');
  await buildPortal({ quiet: true });
}
