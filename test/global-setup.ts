// Integration tests run against the real local stack (MinIO, Redis, PostgreSQL, Keycloak, stripe-mock and the
// three apps as processes). It is started here unless it is already healthy, and stopped again if we started it.
import { down, status, up } from '@atoll/stack';

export default async function setup(): Promise<() => Promise<void>> {
  const before = await status().catch(() => []);
  const alreadyUp = before.length > 0 && before.every((s) => s.healthy);
  if (!alreadyUp) await up({ apps: true });
  return async () => {
    if (!alreadyUp && process.env.ATOLL_KEEP_STACK !== '1') await down();
  };
}
