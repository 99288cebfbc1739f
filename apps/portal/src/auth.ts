// Signing a person in at Keycloak with the authorization code flow and PKCE (S256), in the browser: the portal is a
// public client, so it holds no secret; the access token lives in this tab's sessionStorage only and is sent to the
// api's own origin only.

export type Role = 'operator' | 'provider' | 'consumer';

export interface PortalSettings {
  keycloakUrl: string;
  realm: string;
  clientId: string;
  stepUpAcr: string;
  stepUpMaxAgeSeconds: number;
}

export interface Session {
  accessToken: string;
  idToken: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
  roles: Role[];
  org: string;
  username: string;
  acr: string | null;
  /** Epoch seconds of the last interactive sign-in. */
  authTime: number | null;
}

const SESSION_KEY = 'atoll.portal.session';
const PENDING_KEY = 'atoll.portal.pending';
const KNOWN_ROLES: Role[] = ['operator', 'provider', 'consumer'];

export async function loadSettings(): Promise<PortalSettings> {
  const res = await fetch('/portal/config.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`the portal's settings did not load (HTTP ${res.status})`);
  return (await res.json()) as PortalSettings;
}

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const random = (n: number) => base64url(crypto.getRandomValues(new Uint8Array(n)));
const redirectUri = () => `${window.location.origin}/portal/`;
const oidc = (s: PortalSettings) => `${s.keycloakUrl}/realms/${encodeURIComponent(s.realm)}/protocol/openid-connect`;

export function decodeClaims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  const json = atob(part.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

function sessionFrom(accessToken: string, idToken: string | null, expiresIn: number): Session {
  const c = decodeClaims(accessToken);
  const realmRoles: unknown[] = (c.realm_access as { roles?: unknown[] } | undefined)?.roles ?? [];
  return {
    accessToken,
    idToken,
    expiresAt: Date.now() + expiresIn * 1000,
    roles: KNOWN_ROLES.filter((r) => realmRoles.includes(r)),
    org: typeof c.atoll_org === 'string' ? c.atoll_org : '',
    username: typeof c.preferred_username === 'string' ? c.preferred_username : 'signed-in user',
    acr: typeof c.acr === 'string' ? c.acr : null,
    authTime: typeof c.auth_time === 'number' ? c.auth_time : null,
  };
}

/** Sends the browser to Keycloak's sign-in; `stepUp` asks for the second factor (payment settings). */
export async function signIn(settings: PortalSettings, opts: { returnTo?: string; stepUp?: boolean } = {}): Promise<void> {
  const verifier = random(48);
  const state = random(16);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier, returnTo: opts.returnTo ?? window.location.hash }));
  const url = new URL(`${oidc(settings)}/auth`);
  url.search = new URLSearchParams({
    client_id: settings.clientId,
    redirect_uri: redirectUri(),
    response_type: 'code',
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(opts.stepUp ? { acr_values: settings.stepUpAcr, max_age: String(settings.stepUpMaxAgeSeconds) } : {}),
  }).toString();
  window.location.assign(url.toString());
}

/**
 * Finishes a sign-in when Keycloak sent the browser back with a code: checks the state, redeems the code with the
 * verifier, keeps the session and cleans the address bar. Returns null when there was nothing to finish.
 */
export async function completeSignIn(settings: PortalSettings): Promise<{ session: Session } | { error: string } | null> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as { state: string; verifier: string; returnTo: string } | null;
  sessionStorage.removeItem(PENDING_KEY);
  window.history.replaceState(null, '', `/portal/${pending?.returnTo ?? ''}`);
  if (error) return { error: `Sign-in did not finish: ${params.get('error_description') ?? error}.` };
  if (!pending || pending.state !== params.get('state')) return { error: 'Sign-in did not finish: the answer from the identity provider does not belong to this tab. Sign in again.' };
  let res: Response;
  try {
    res = await fetch(`${oidc(settings)}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: settings.clientId, code: code!, redirect_uri: redirectUri(), code_verifier: pending.verifier }),
    });
  } catch {
    return { error: 'Sign-in did not finish: the identity provider could not be reached. Check your connection and sign in again.' };
  }
  if (!res.ok) return { error: `Sign-in did not finish: the identity provider refused the code (HTTP ${res.status}). Sign in again.` };
  const body = (await res.json()) as { access_token: string; id_token?: string; expires_in: number };
  const session = sessionFrom(body.access_token, body.id_token ?? null, body.expires_in);
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return { session };
}

/** The tab's session, or 'expired' when its token ran out (the person must sign in again). */
export function currentSession(): Session | 'expired' | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  const session = JSON.parse(raw) as Session;
  return session.expiresAt <= Date.now() ? 'expired' : session;
}

export function forgetSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

export function signOut(settings: PortalSettings, session: Session | null): void {
  forgetSession();
  const url = new URL(`${oidc(settings)}/logout`);
  url.search = new URLSearchParams({ client_id: settings.clientId, post_logout_redirect_uri: redirectUri(), ...(session?.idToken ? { id_token_hint: session.idToken } : {}) }).toString();
  window.location.assign(url.toString());
}
