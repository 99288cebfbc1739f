// Step-up for payment settings (issue 10 item 5; seed 000: "for infrequent but more sensitive actions, like changing
// payment settings, we use a third factor"): PUT /v1/providers/{id}/revenue-share needs a Keycloak token whose `acr`
// shows a one-time code (acr "mfa") given at most ATOLL_STEP_UP_MAX_AGE_SECONDS ago. Tokens come from the real
// Keycloak: client credentials, and people signing in through the realm's browser flow with password and TOTP.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeycloakAdmin } from '@atoll/stack';
import { api, newProvider, operator } from './support/actors.js';
import { startInProcessApi } from './support/inprocess-api.js';
import { newOperatorPerson, realmAdmin, signIn } from './support/step-up.js';

let kc: KeycloakAdmin;
let provider: { id: string; http: typeof api };

beforeAll(async () => {
  kc = await realmAdmin();
  provider = await newProvider(await operator());
});

async function shareOf(p: typeof provider): Promise<string> {
  return (await p.http.call<{ share: string }>('GET', '/v1/payouts?month=2020-01')).share;
}

function expectStepUpRefusal(r: { status: number; body: unknown; headers: Headers }, why: RegExp): void {
  expect(r.status).toBe(403);
  const error = (r.body as { error: { code: string; message: string; details: unknown } }).error;
  expect(error.code).toBe('STEP_UP_REQUIRED');
  expect(error.message).toMatch(/step-up authentication: a token with acr "mfa" \(password and one-time code\) from a sign-in at most \d+ s old/);
  expect(error.message).toMatch(why);
  expect(r.headers.get('www-authenticate')).toMatch(/error="insufficient_user_authentication".*acr_values="mfa"/);
}

describe('step-up for the revenue share', () => {
  it('refuses the operator client-credentials token with 403 STEP_UP_REQUIRED naming the step-up', async () => {
    const op = await operator();
    const r = await op.raw('PUT', `/v1/providers/${provider.id}/revenue-share`, { body: { share: 0.5 } });
    expectStepUpRefusal(r, /client-credentials/);
    expect(await shareOf(provider)).toBe('0.7');
  });

  it('refuses a person who signed in with a password only', async () => {
    await using person = await newOperatorPerson(kc);
    const session = await signIn(person);
    expect(session.askedForCode).toBe(false);
    expect(session.claims).toMatchObject({ acr: 'password', atoll_org: 'operator' });
    const r = await api.withToken(session.accessToken).raw('PUT', `/v1/providers/${provider.id}/revenue-share`, { body: { share: 0.5 } });
    expectStepUpRefusal(r, /acr is "password"/);
    expect(await shareOf(provider)).toBe('0.7');
  });

  it('applies the change for a person who just gave password and one-time code', async () => {
    await using person = await newOperatorPerson(kc);
    const session = await signIn(person, { acr: 'mfa' });
    expect(session.askedForCode).toBe(true);
    expect(session.claims.acr).toBe('mfa');
    expect(Math.abs(session.claims.auth_time! - Date.now() / 1000)).toBeLessThan(30);
    const r = await api.withToken(session.accessToken).raw('PUT', `/v1/providers/${provider.id}/revenue-share`, { body: { share: 0.55 } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ providerId: provider.id, share: '0.55' });
    expect(await shareOf(provider)).toBe('0.55');
    // Other operator routes still take the person's token like any operator token (role and org from Keycloak).
    expect((await api.withToken(session.accessToken).raw('GET', '/v1/billing/usage?month=2020-01')).status).toBe(200);
  });

  it('refuses a stepped-up token once its second factor is older than the max age', async () => {
    // The stack's api allows 300 s; an api built in-process against the same stack allows 10 s, so the test waits 12.
    await using strict = await startInProcessApi({ ATOLL_STEP_UP_MAX_AGE_SECONDS: '10' });
    await using person = await newOperatorPerson(kc);
    const session = await signIn(person, { acr: 'mfa' });
    const put = (share: number) =>
      fetch(`${strict.url}/v1/providers/${provider.id}/revenue-share`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ share }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()), headers: res.headers }));
    expect((await put(0.6)).status).toBe(200);
    await sleep(12_000);
    const stale = await put(0.65);
    expectStepUpRefusal(stale, /at most 10 s old; the second factor was given 1\d s ago/);
    expect(await shareOf(provider)).toBe('0.6');
  });
});
