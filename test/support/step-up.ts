// People signing in to Keycloak through the realm's real browser flow (`atoll browser`): a scripted user agent that
// fetches the login pages, keeps the cookies, posts the password and — when step-up is asked for — a TOTP code computed
// from the user's seeded secret (RFC 6238), then redeems the authorization code with PKCE at the token endpoint.
// No Keycloak behaviour is imitated: every page and token comes from the running Keycloak.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { keycloakAdmin, paths, STEP_UP_CLIENT_ID, type AtollHttp, type KeycloakAdmin } from '@atoll/stack';
import { api, env, uniq } from './actors.js';

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) over the secret's bytes as Keycloak stores them. */
export function totp(secret: string, atMs = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / 30)));
  const mac = createHmac('sha1', Buffer.from(secret, 'utf8')).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, '0');
}

export async function realmAdmin(): Promise<KeycloakAdmin> {
  const secrets = JSON.parse(readFileSync(paths.secretsFile, 'utf8')) as { keycloakAdminPassword: string };
  return keycloakAdmin(env.ATOLL_KEYCLOAK_URL!, env.ATOLL_REALM!, secrets.keycloakAdminPassword);
}

export interface Person extends AsyncDisposable {
  username: string;
  password: string;
  otpSecret: string;
}

/**
 * A realm user (only ever made by tests, in the local stack) with one Atoll role, `atoll_org = org`, a random password
 * and an enrolled TOTP authenticator; deleted again on dispose.
 */
export async function newPerson(kc: KeycloakAdmin, opts: { role: 'operator' | 'provider' | 'consumer'; org: string; prefix?: string }): Promise<Person> {
  const username = `${opts.prefix ?? opts.role.slice(0, 4)}-${uniq()}`;
  const password = randomBytes(12).toString('base64url');
  const otpSecret = randomBytes(15).toString('base64url');
  const res = await kc.call('POST', '/users', {
    username,
    email: `${username}@example.test`,
    emailVerified: true,
    firstName: 'Test',
    lastName: opts.role[0]!.toUpperCase() + opts.role.slice(1),
    enabled: true,
    attributes: { atoll_org: [opts.org] },
    credentials: [
      { type: 'password', value: password, temporary: false },
      {
        type: 'otp',
        userLabel: 'test authenticator',
        secretData: JSON.stringify({ value: otpSecret }),
        credentialData: JSON.stringify({ subType: 'totp', digits: 6, period: 30, algorithm: 'HmacSHA1', counter: 0 }),
      },
    ],
  });
  const id = (res.headers.get('location') ?? '').split('/').pop()!;
  const role = await kc.json<{ id: string; name: string }>(`/roles/${opts.role}`);
  await kc.call('POST', `/users/${id}/role-mappings/realm`, [role]);
  return {
    username,
    password,
    otpSecret,
    async [Symbol.asyncDispose]() {
      // A fresh admin session: Keycloak's admin tokens live 60 s, and a person may outlive that.
      await (await realmAdmin()).call('DELETE', `/users/${id}`);
    },
  };
}

/** A realm user with the operator role, `atoll_org = operator`, a password and an enrolled TOTP authenticator. */
export function newOperatorPerson(kc: KeycloakAdmin): Promise<Person> {
  return newPerson(kc, { role: 'operator', org: 'operator', prefix: 'op' });
}

class Browser {
  private readonly cookies = new Map<string, string>();

  async go(url: string, form?: Record<string, string>): Promise<Response> {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form) } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }
}

function formAction(html: string, formId: string): string {
  const m = new RegExp(`<form[^>]*id="${formId}"[^>]*action="([^"]+)"`).exec(html) ?? new RegExp(`<form[^>]*action="([^"]+)"[^>]*id="${formId}"`).exec(html);
  if (!m) throw new Error(`the Keycloak page has no form ${formId}: ${html.slice(0, 400)}`);
  return m[1]!.replaceAll('&amp;', '&');
}

export interface SignIn {
  accessToken: string;
  claims: { acr?: string; auth_time?: number; atoll_org?: string };
  /** Whether Keycloak asked for the one-time code. */
  askedForCode: boolean;
}

/** Signs `person` in at the `atoll-console` client; `acr: 'mfa'` asks Keycloak for step-up (password + TOTP). */
export async function signIn(person: Person, opts: { acr?: string } = {}): Promise<SignIn> {
  const kc = `${env.ATOLL_KEYCLOAK_URL}/realms/${env.ATOLL_REALM}/protocol/openid-connect`;
  const redirectUri = 'http://127.0.0.1:9/callback';
  const verifier = randomBytes(32).toString('base64url');
  const auth = new URL(`${kc}/auth`);
  auth.search = new URLSearchParams({
    client_id: STEP_UP_CLIENT_ID,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    state: uniq(),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(opts.acr ? { acr_values: opts.acr } : {}),
  }).toString();
  const browser = new Browser();
  let res = await browser.go(auth.toString());
  if (res.status !== 200) throw new Error(`login page: HTTP ${res.status}`);
  res = await browser.go(formAction(await res.text(), 'kc-form-login'), { username: person.username, password: person.password, credentialId: '' });
  let askedForCode = false;
  if (res.status === 200) {
    const html = await res.text();
    askedForCode = true;
    res = await browser.go(formAction(html, 'kc-otp-login-form'), { otp: totp(person.otpSecret), login: 'Sign In' });
  }
  const location = res.headers.get('location') ?? '';
  const code = location.startsWith(redirectUri) ? new URL(location).searchParams.get('code') : null;
  if (!code) throw new Error(`sign-in did not finish: HTTP ${res.status} ${location || (await res.text()).slice(0, 400)}`);
  const tokenRes = await fetch(`${kc}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: STEP_UP_CLIENT_ID, code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  if (!tokenRes.ok) throw new Error(`code exchange: HTTP ${tokenRes.status} ${await tokenRes.text()}`);
  const accessToken = ((await tokenRes.json()) as { access_token: string }).access_token;
  return { accessToken, claims: decodeJwt(accessToken), askedForCode };
}

/**
 * An operator person who just stepped up (password + TOTP), as an API client for payment settings. The token is
 * fresh for the api's step-up max age (300 s in the stack): take one right before the change.
 */
export async function steppedUpOperator(): Promise<AtollHttp & AsyncDisposable> {
  const kc = await realmAdmin();
  const person = await newOperatorPerson(kc);
  const session = await signIn(person, { acr: 'mfa' });
  return Object.assign(api.withToken(session.accessToken), { [Symbol.asyncDispose]: () => person[Symbol.asyncDispose]() });
}
