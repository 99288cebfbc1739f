// Integration tests run against the real local stack (MinIO, Redis, PostgreSQL, Keycloak, stripe-mock and the
// three apps as processes). It is started here unless it is already healthy, and stopped again if we started it.
// If another program holds the default ports, the stack moves to a free port base instead of failing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { down, ensureSeaweedfs, paths, portsFree, status, up } from '@atoll/stack';

async function choosePortBase(): Promise<void> {
  if (process.env.ATOLL_PORT_BASE || existsSync(paths.portsFile)) return;
  for (const base of [17000, 21000, 25000, 29000, 33000, 37000]) {
    if (await portsFree({ ATOLL_PORT_BASE: String(base) })) {
      process.env.ATOLL_PORT_BASE = String(base);
      return;
    }
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  // The api serves the portal's build (test/portal.test.ts); `npx vitest` alone skips scripts/bootstrap.mjs.
  execFileSync(process.execPath, ['apps/portal/build.mjs', '--quiet'], { stdio: 'inherit' });
  const before = await status().catch(() => []);
  const alreadyUp = before.length > 0 && before.every((s) => s.healthy);
  // The storage conformance suites run on both S3 servers: SeaweedFS is built (once per machine, ~15 min on a fresh
  // one) while the stack starts, not inside a test file.
  const seaweed = ensureSeaweedfs().then(
    () => null,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  if (!alreadyUp) {
    await choosePortBase();
    await up({ apps: true });
  }
  const buildError = await seaweed;
  if (buildError) throw buildError;
  return async () => {
    if (!alreadyUp && process.env.ATOLL_KEEP_STACK !== '1') await down();
  };
}
