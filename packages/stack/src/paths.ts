// Where the local stack keeps its state (per checkout) and its downloaded/built binaries (per machine).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'packages', 'stack'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Atoll repository root');
    dir = parent;
  }
}

export const repoRoot = findRepoRoot();
export const stateDir = resolve(process.env.ATOLL_STATE_DIR ?? join(repoRoot, '.atoll'));
export const cacheDir = resolve(process.env.ATOLL_CACHE_DIR ?? join(homedir(), '.cache', 'atoll'));

export const paths = {
  portsFile: join(stateDir, 'ports.json'),
  /** The S3 server kind (ATOLL_STORAGE) the stack was brought up with. */
  storageFile: join(stateDir, 'storage'),
  envFile: join(stateDir, 'stack.env'),
  secretsFile: join(stateDir, 'secrets.json'),
  pidDir: join(stateDir, 'pids'),
  logDir: join(stateDir, 'logs'),
  dataDir: join(stateDir, 'data'),
  realmFile: join(repoRoot, 'packages', 'stack', 'keycloak', 'atoll-realm.json'),
  binDir: join(cacheDir, 'bin'),
  downloads: join(cacheDir, 'downloads'),
};
