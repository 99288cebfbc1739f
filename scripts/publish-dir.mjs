// One home for how an installer puts a finished build in place (the stack's binaries in packages/stack/src/install.ts,
// the deploy tools in scripts/ensure-deploy-tools.mjs). Node builtins only: scripts run before npm ci has.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Moves a finished install from its scratch directory `tmp` to `dir`. Two processes may install the same thing at
 * once (a CI run beside a developer's stack, two worktrees, two test files): whichever renames first wins, and the
 * other, finding `dir` complete (`marker` inside it), drops its own copy. A `dir` left incomplete by a killed install
 * is replaced.
 */
export function publishDir(tmp, dir, marker) {
  try {
    renameSync(tmp, dir);
    return;
  } catch (err) {
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  }
  if (existsSync(join(dir, marker))) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
