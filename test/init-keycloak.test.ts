// The one-shot init (apps/api/src/init.ts), as compose and Helm run it, configures Keycloak: given the master admin's
// password it (re)creates the portal's sign-in client `atoll-portal` with redirects to the api's public origins,
// idempotently; without the password it leaves Keycloak alone; with a wrong one it fails without printing it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionStepUp } from '@atoll/identity';
import { loadContext, PORTAL_CLIENT_ID, type StackContext } from '@atoll/stack';
import { env } from './support/actors.js';
import { runInit as runInitWith } from './support/run-init.js';
import { realmAdmin } from './support/step-up.js';

const PUBLIC = 'https://atoll.example.test';
const stackOrigin = new URL(env.ATOLL_API_URL!).origin;
let ctx: StackContext;

interface PortalClient {
  id: string;
  publicClient: boolean;
  redirectUris: string[];
  webOrigins: string[];
  attributes: Record<string, string>;
  defaultClientScopes?: string[];
}

async function portalClient(): Promise<PortalClient | undefined> {
  return (await (await realmAdmin()).json<PortalClient[]>(`/clients?clientId=${PORTAL_CLIENT_ID}`))[0];
}

const runInit = (extra: Record<string, string>) => runInitWith(ctx, extra);

beforeAll(async () => {
  ctx = await loadContext({ install: false });
});

afterAll(async () => {
  // The stack's own portal client again (its origin only), as `npm run stack -- up` leaves it.
  await provisionStepUp(await realmAdmin(), { portalOrigins: [stackOrigin] });
});

describe('init configures Keycloak for the portal', () => {
  it('creates the atoll-portal client for the public origins, and a rerun changes nothing', async () => {
    const before = await portalClient();
    if (before) await (await realmAdmin()).call('DELETE', `/clients/${before.id}`);
    expect(await portalClient()).toBeUndefined();
    const password = ctx.secrets.keycloakAdminPassword;
    const settings = { ATOLL_KEYCLOAK_ADMIN_PASSWORD: password, ATOLL_API_URL: `${PUBLIC}/`, ATOLL_INIT_PORTAL_ORIGINS: `${stackOrigin}, ${PUBLIC}` };
    const first = await runInit(settings);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('init.keycloak.ready');
    expect(first.output).not.toContain(password);
    const made = (await portalClient())!;
    expect(made).toMatchObject({ publicClient: true, attributes: expect.objectContaining({ 'pkce.code.challenge.method': 'S256' }) as unknown });
    expect([...made.redirectUris].sort()).toEqual([`${PUBLIC}/portal/*`, `${stackOrigin}/portal/*`].sort());
    expect([...made.webOrigins].sort()).toEqual([PUBLIC, stackOrigin].sort());
    // Idempotent: the same client, untouched.
    const again = await runInit(settings);
    expect(again.code, again.output).toBe(0);
    expect((await portalClient())?.id).toBe(made.id);
  }, 180_000);

  it('leaves Keycloak alone without the admin password, and fails on a wrong one without printing it', async () => {
    const skipped = await runInit({});
    expect(skipped.code, skipped.output).toBe(0);
    expect(skipped.output).toContain('init.keycloak.skipped');
    const wrong = `wrong-${Date.now()}-password`;
    const failed = await runInit({ ATOLL_KEYCLOAK_ADMIN_PASSWORD: wrong });
    expect(failed.code).toBe(1);
    expect(failed.output).toMatch(/init failed: Keycloak admin login failed: HTTP 40[01]/);
    expect(failed.output).not.toContain(wrong);
  }, 180_000);
});
