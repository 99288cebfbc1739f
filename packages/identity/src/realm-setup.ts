// Keycloak configuration for step-up authentication (payment settings need a fresh second factor) and the portal's
// sign-in client, applied through the admin API after the realm exists — by `npm run stack -- up`, by the init job of
// compose and Helm (apps/api/src/init.ts), and by `npm run stack -- keycloak-step-up` for any other Keycloak — on
// fresh and existing realms alike: every step checks before it creates, so each run brings an older realm forward. The realm file cannot carry it: a realm file that names any
// authentication flow must name all of Keycloak's built-in ones too.
//
// What a person gets:
// - ACR-to-LoA mapping `password` = 1, `mfa` = 2 (realm attribute `acr.loa.map`);
// - browser flow `atoll browser`: the SSO cookie, or level 1 (username + password) and, when the client asks for
//   `acr_values=mfa`, level 2 (one-time code, TOTP). Keycloak then issues `acr: "mfa"`; `auth_time` is the sign-in;
// - client `atoll-console` (public, authorization code + PKCE, loopback redirects) whose tokens carry the Atoll
//   audience, realm roles, `acr`, `auth_time` and the user's `atoll_org` attribute;
// - user profile attribute `atoll_org` (admin-only) so an operator can say which organisation a person acts for;
// - client `atoll-portal` (public, authorization code + PKCE) for the web portal the api serves at /portal: the same
//   scopes as `atoll-console`, redirects only to `<api origin>/portal/`, and CORS for that origin (the page redeems
//   its code at the token endpoint itself). No user is made here: people are added by an administrator.

export const STEP_UP_CLIENT_ID = 'atoll-console';
export const STEP_UP_FLOW = 'atoll browser';
export const PORTAL_CLIENT_ID = 'atoll-portal';
const SCOPE = 'atoll-person';
/** Keycloak reuses a level-2 sign-in within this many seconds (SSO); the api's own limit may be stricter. */
const LEVEL2_MAX_AGE = 300;
const LEVEL1_MAX_AGE = 36_000;

type Json = Record<string, unknown>;

export class KeycloakAdmin {
  constructor(
    private readonly base: string,
    private readonly realm: string,
    private readonly token: string,
  ) {}

  get authorization(): { Authorization: string } {
    return { Authorization: `Bearer ${this.token}` };
  }

  async call(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.base}/admin/realms/${this.realm}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`Keycloak ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return res;
  }

  async json<T>(path: string): Promise<T> {
    return (await (await this.call('GET', path)).json()) as T;
  }
}

/** Logs in to the master realm as an admin (the local stack's bootstrap admin unless `username` says otherwise). */
export async function keycloakAdmin(base: string, realm: string, adminPassword: string, username = 'admin'): Promise<KeycloakAdmin> {
  const res = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username, password: adminPassword }),
  });
  if (!res.ok) throw new Error(`Keycloak admin login failed: HTTP ${res.status}`);
  const { access_token } = (await res.json()) as { access_token: string };
  return new KeycloakAdmin(base, realm, access_token);
}

interface Execution {
  id: string;
  providerId?: string;
  displayName: string;
  level: number;
  requirement: string;
  authenticationConfig?: string;
}

async function addExecution(kc: KeycloakAdmin, flow: string, provider: string, requirement: string): Promise<Execution> {
  await kc.call('POST', `/authentication/flows/${encodeURIComponent(flow)}/executions/execution`, { provider });
  return setRequirement(kc, flow, (e) => e.providerId === provider && e.level === 0, requirement);
}

async function addSubflow(kc: KeycloakAdmin, flow: string, alias: string, requirement: string): Promise<Execution> {
  await kc.call('POST', `/authentication/flows/${encodeURIComponent(flow)}/executions/flow`, { alias, type: 'basic-flow', description: alias, provider: 'registration-page-form' });
  return setRequirement(kc, flow, (e) => e.displayName === alias && e.level === 0, requirement);
}

async function setRequirement(kc: KeycloakAdmin, flow: string, pick: (e: Execution) => boolean, requirement: string): Promise<Execution> {
  const executions = await kc.json<Execution[]>(`/authentication/flows/${encodeURIComponent(flow)}/executions`);
  const e = executions.filter(pick).pop();
  if (!e) throw new Error(`Keycloak flow ${flow}: the execution just added is missing`);
  await kc.call('PUT', `/authentication/flows/${encodeURIComponent(flow)}/executions`, { ...e, requirement });
  return { ...e, requirement };
}

/** A conditional subflow: "Condition - Level of Authentication" at `level`, then `authenticator`. */
async function addLevel(kc: KeycloakAdmin, parent: string, level: number, maxAge: number, authenticator: string): Promise<void> {
  const alias = `${STEP_UP_FLOW} level ${level}`;
  await addSubflow(kc, parent, alias, 'CONDITIONAL');
  const condition = await addExecution(kc, alias, 'conditional-level-of-authentication', 'REQUIRED');
  await kc.call('POST', `/authentication/executions/${condition.id}/config`, {
    alias: `${STEP_UP_FLOW} loa ${level}`,
    config: { 'loa-condition-level': String(level), 'loa-max-age': String(maxAge) },
  });
  await addExecution(kc, alias, authenticator, 'REQUIRED');
}

async function ensureFlow(kc: KeycloakAdmin): Promise<void> {
  const flows = await kc.json<Array<{ alias: string }>>('/authentication/flows');
  if (flows.some((f) => f.alias === STEP_UP_FLOW)) return;
  await kc.call('POST', '/authentication/flows', { alias: STEP_UP_FLOW, description: 'Browser login with step-up to a one-time code (acr mfa)', providerId: 'basic-flow', topLevel: true, builtIn: false });
  await addExecution(kc, STEP_UP_FLOW, 'auth-cookie', 'ALTERNATIVE');
  const forms = `${STEP_UP_FLOW} forms`;
  await addSubflow(kc, STEP_UP_FLOW, forms, 'ALTERNATIVE');
  await addLevel(kc, forms, 1, LEVEL1_MAX_AGE, 'auth-username-password-form');
  await addLevel(kc, forms, 2, LEVEL2_MAX_AGE, 'auth-otp-form');
}

async function ensureUserProfile(kc: KeycloakAdmin): Promise<void> {
  const profile = await kc.json<{ attributes: Array<{ name: string }> } & Json>('/users/profile');
  if (profile.attributes.some((a) => a.name === 'atoll_org')) return;
  profile.attributes.push({
    name: 'atoll_org',
    displayName: 'Atoll organisation',
    permissions: { view: ['admin'], edit: ['admin'] },
    validations: { length: { min: 1, max: 64 } },
    multivalued: false,
  } as { name: string });
  await kc.call('PUT', '/users/profile', profile);
}

async function ensureScope(kc: KeycloakAdmin): Promise<void> {
  const scopes = await kc.json<Array<{ name: string }>>('/client-scopes');
  if (scopes.some((s) => s.name === SCOPE)) return;
  const inAccessToken = { 'access.token.claim': 'true', 'id.token.claim': 'true', 'introspection.token.claim': 'true' };
  await kc.call('POST', '/client-scopes', {
    name: SCOPE,
    description: 'How a person signed in (acr, auth_time) and the organisation they act for (atoll_org)',
    protocol: 'openid-connect',
    attributes: { 'include.in.token.scope': 'false', 'display.on.consent.screen': 'false' },
    protocolMappers: [
      { name: 'acr', protocol: 'openid-connect', protocolMapper: 'oidc-acr-mapper', config: inAccessToken },
      {
        name: 'auth_time',
        protocol: 'openid-connect',
        protocolMapper: 'oidc-usersessionmodel-note-mapper',
        config: { ...inAccessToken, 'user.session.note': 'AUTH_TIME', 'claim.name': 'auth_time', 'jsonType.label': 'long' },
      },
      {
        name: 'atoll_org',
        protocol: 'openid-connect',
        protocolMapper: 'oidc-usermodel-attribute-mapper',
        config: { ...inAccessToken, 'user.attribute': 'atoll_org', 'claim.name': 'atoll_org', 'jsonType.label': 'String' },
      },
    ],
  });
}

/** What every client people sign in through has: public (no secret), authorization code only; PKCE is set per client. */
const PUBLIC_PKCE_CLIENT = {
  enabled: true,
  publicClient: true,
  standardFlowEnabled: true,
  directAccessGrantsEnabled: false,
  implicitFlowEnabled: false,
  serviceAccountsEnabled: false,
} as const;

async function ensureClient(kc: KeycloakAdmin): Promise<void> {
  const found = await kc.json<unknown[]>(`/clients?clientId=${STEP_UP_CLIENT_ID}`);
  if (found.length > 0) return;
  await kc.call('POST', '/clients', {
    clientId: STEP_UP_CLIENT_ID,
    name: 'Atoll console: people signing in (step-up with a one-time code for payment settings)',
    ...PUBLIC_PKCE_CLIENT,
    // Loopback redirects (any port, RFC 8252) for CLIs and local tools; a hosted console adds its own URL.
    redirectUris: ['http://127.0.0.1/*', 'http://localhost/*'],
    attributes: { 'pkce.code.challenge.method': 'S256' },
    defaultClientScopes: ['atoll-api-audience', 'roles', SCOPE],
  });
}

/** The portal's client, its redirect URIs and web origins brought to `origins` (the api's public origins). */
async function ensurePortalClient(kc: KeycloakAdmin, origins: string[]): Promise<void> {
  const redirectUris = origins.map((o) => `${o}/portal/*`);
  const wanted = {
    clientId: PORTAL_CLIENT_ID,
    name: 'Atoll web portal',
    ...PUBLIC_PKCE_CLIENT,
    frontchannelLogout: true,
    redirectUris,
    webOrigins: origins,
    attributes: { 'pkce.code.challenge.method': 'S256', 'post.logout.redirect.uris': redirectUris.join('##') },
    defaultClientScopes: ['atoll-api-audience', 'roles', SCOPE],
    // The page names who is signed in; the realm has no `profile` scope, so the username comes from this mapper.
    protocolMappers: [
      {
        name: 'username',
        protocol: 'openid-connect',
        protocolMapper: 'oidc-usermodel-property-mapper',
        config: { 'user.attribute': 'username', 'claim.name': 'preferred_username', 'jsonType.label': 'String', 'access.token.claim': 'true', 'id.token.claim': 'true' },
      },
    ],
  };
  const found = await kc.json<Array<{ id: string; redirectUris?: string[]; webOrigins?: string[] }>>(`/clients?clientId=${PORTAL_CLIENT_ID}`);
  const current = found[0];
  if (!current) {
    await kc.call('POST', '/clients', wanted);
    return;
  }
  const same = (a: string[] | undefined, b: string[]) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...b].sort());
  if (same(current.redirectUris, redirectUris) && same(current.webOrigins, origins)) return;
  const { defaultClientScopes: _scopes, protocolMappers: _mappers, ...update } = wanted;
  await kc.call('PUT', `/clients/${current.id}`, { ...current, ...update });
}

async function ensureRealmSettings(kc: KeycloakAdmin): Promise<void> {
  const realm = await kc.json<{ browserFlow?: string; attributes?: Record<string, string> }>('');
  const acrLoaMap = JSON.stringify({ password: 1, mfa: 2 });
  if (realm.browserFlow === STEP_UP_FLOW && realm.attributes?.['acr.loa.map'] === acrLoaMap) return;
  await kc.call('PUT', '', { browserFlow: STEP_UP_FLOW, attributes: { ...(realm.attributes ?? {}), 'acr.loa.map': acrLoaMap } });
}

/** Brings the realm's step-up configuration up to date; safe to run at every start. */
export async function provisionStepUp(kc: KeycloakAdmin, opts: { portalOrigins?: string[] } = {}): Promise<void> {
  await ensureUserProfile(kc);
  await ensureScope(kc);
  await ensureClient(kc);
  if (opts.portalOrigins && opts.portalOrigins.length > 0) await ensurePortalClient(kc, opts.portalOrigins);
  await ensureFlow(kc);
  await ensureRealmSettings(kc);
}
