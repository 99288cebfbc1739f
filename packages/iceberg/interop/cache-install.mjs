// What the interop installers (ensure-venv.mjs, ensure-spark-jars.mjs) share: the per-machine cache, a command run
// with its output on stderr (stdout stays the one line the caller reads), and an install done once under a lock that
// concurrent test files wait on.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';

export const cacheDir = process.env.ATOLL_CACHE_DIR || join(homedir(), '.cache', 'atoll');

// A lock older than this belongs to a crashed installer; pip with wheels and Maven finish well within it.
const STALE_LOCK_MS = 15 * 60 * 1000;

/** Runs a command, its output on stderr; throws naming `tag` when it cannot start or fails. */
export function run(tag, cmd, args) {
  const res = spawnSync(cmd, args, { stdio: ['ignore', process.stderr, process.stderr] });
  if (res.error) throw new Error(`${tag}: cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${tag}: ${cmd} ${args.join(' ')} exited with ${res.status}`);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Calls `install` unless `ready()`, holding `<target>.lock` (a directory: mkdir is atomic, so exactly one concurrent
 * caller installs and the others wait, then find it ready).
 */
export function installOnce(target, ready, install) {
  if (ready()) return;
  const lockDir = `${target}.lock`;
  mkdirSync(dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // the lock vanished between the checks; try again
      }
      sleep(1000);
    }
  }
  try {
    if (!ready()) install(); // another process may have finished while we waited
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
