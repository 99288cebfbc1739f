#!/usr/bin/env node
// Installs Debian's Chromium for the portal's browser tests (playwright-core drives it; Playwright's own browser
// download cannot work without internet). Idempotent: does nothing when the binary is there. Prints its path.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.ATOLL_CHROMIUM ?? '/usr/bin/chromium';

export function ensureChromium({ quiet = false } = {}) {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0) {
    throw new Error(`${CHROMIUM} is missing: run "apt-get update && apt-get install -y chromium" as root (or set ATOLL_CHROMIUM)`);
  }
  // apt's progress goes to stderr, never stdout: run as a script, stdout carries the path alone (test/support reads it).
  const stdio = quiet ? 'ignore' : ['ignore', 2, 2];
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt may hold the lock (the local stack installing PostgreSQL or Redis): wait up to 15 minutes for it.
  const wait = ['-o', 'DPkg::Lock::Timeout=900'];
  execFileSync('apt-get', [...wait, 'update'], { stdio, env: aptEnv });
  // Debian's candidate, pinned to the exact version apt offers right now (one release's security updates move it).
  const policy = execFileSync('apt-cache', ['policy', 'chromium'], { encoding: 'utf8', env: aptEnv });
  const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (!candidate || candidate === '(none)') throw new Error('apt offers no chromium package');
  execFileSync('apt-get', [...wait, 'install', '-y', '--no-install-recommends', `chromium=${candidate}`, 'fonts-dejavu-core'], { stdio, env: aptEnv });
  if (!existsSync(CHROMIUM)) throw new Error(`chromium installed but ${CHROMIUM} is missing`);
  return CHROMIUM;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${ensureChromium()}\n`);
}
