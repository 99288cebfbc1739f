#!/usr/bin/env node
// Bundles the app entry points for container images: node deploy/build-apps.mjs --out <dir>
// writes <dir>/dist/{api,writer,cleanroom,init}.mjs (+ source maps) and <dir>/migrations/.
//
// Why bundle instead of running `node --import tsx` as the local stack does: the workspace packages export their
// TypeScript sources, and tsx would transpile them at every start and keep a compile cache under /tmp. A bundle
// starts faster, needs no dev dependency in the image and nothing writable beyond the work directory, which keeps
// the root filesystem read-only. Only Atoll's own @atoll/* code is bundled; third-party packages stay external
// and come from `npm ci --omit=dev`, so native modules (DuckDB) and files packages read at run time keep working.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const entries = {
  api: 'apps/api/src/main.ts',
  writer: 'apps/writer/src/main.ts',
  cleanroom: 'apps/cleanroom/src/main.ts',
  init: 'apps/api/src/init.ts',
};

/** Bundles @atoll/* (TypeScript sources) and leaves every other bare import to node_modules at run time. */
const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@atoll/') ? undefined : { path: args.path, external: true }));
  },
};

/**
 * The bundles resolve every third-party package from the root node_modules. A workspace with its own node_modules
 * (npm's answer to a version conflict) would silently get the root's version in the image, so refuse to build.
 */
function assertHoisted() {
  for (const group of ['apps', 'packages']) {
    for (const ws of readdirSync(join(repoRoot, group))) {
      const nested = join(repoRoot, group, ws, 'node_modules');
      const entries = existsSync(nested) ? readdirSync(nested).filter((e) => !e.startsWith('.')) : [];
      if (entries.length > 0) throw new Error(`${group}/${ws}/node_modules holds ${entries.join(', ')}: align the versions so npm hoists them`);
    }
  }
}

export async function buildApps(outDir) {
  assertHoisted();
  const out = resolve(outDir);
  rmSync(join(out, 'dist'), { recursive: true, force: true });
  mkdirSync(join(out, 'dist'), { recursive: true });
  await build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, join(repoRoot, file)])),
    outdir: join(out, 'dist'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [externalThirdParty],
  });
  // packages/db finds its SQL files at `<dir of the running module>/../migrations`; in a bundle that module is
  // dist/<app>.mjs, so the migrations sit next to dist/.
  rmSync(join(out, 'migrations'), { recursive: true, force: true });
  cpSync(join(repoRoot, 'packages', 'db', 'migrations'), join(out, 'migrations'), { recursive: true });
  return Object.fromEntries(Object.keys(entries).map((name) => [name, join(out, 'dist', `${name}.mjs`)]));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const outDir = i > 0 ? process.argv[i + 1] : undefined;
  if (!outDir) {
    process.stderr.write('usage: node deploy/build-apps.mjs --out <dir>\n');
    process.exit(2);
  }
  const files = await buildApps(outDir);
  for (const [name, file] of Object.entries(files)) process.stdout.write(`${name}: ${file}\n`);
}
