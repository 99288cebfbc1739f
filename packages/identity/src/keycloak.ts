// Keycloak integration: verifying client-credentials access tokens against the realm's JWKS, and creating the
// confidential clients that serve as provider and consumer API keys.
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { AtollError } from '@atoll/errors';

export type Role = 'operator' | 'provider' | 'consumer';

/** A server-to-server caller holding a Keycloak client-credentials token. */
export interface ClientPrincipal {
  kind: 'client';
  clientId: string;
  roles: Role[];
  /** Provider or consumer id (the org claim); "operator" for the operator client. */
  orgId: string;
  /**
   * How the human behind the token signed in, for step-up checks: Keycloak's `acr` (the realm's ACR-to-LoA name of
   * the level reached) and `auth_time` (epoch seconds of the last interactive sign-in). Service-account tokens carry
   * neither.
   */
  authentication: { acr?: string; authTime?: number };
}

export type DeviceScope = 'license' | 'upload';

/** An end-user device holding an Atoll-issued access token (SPEC §2, §5). */
export interface DevicePrincipal {
  kind: 'device';
  deviceId: string;
  /** The subject's pseudonym, `sub` of the token. */
  tid: string;
  providerId: string;
  scopes: DeviceScope[];
}

export type Principal = ClientPrincipal | DevicePrincipal;

export interface KeycloakSettings {
  url: string;
  realm: string;
  audience: string;
}

const knownRoles: Role[] = ['operator', 'provider', 'consumer'];

export class KeycloakVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  readonly issuer: string;

  constructor(private readonly settings: KeycloakSettings) {
    this.issuer = `${settings.url}/realms/${settings.realm}`;
    this.jwks = createRemoteJWKSet(new URL(`${this.issuer}/protocol/openid-connect/certs`), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
  }

  async verify(token: string): Promise<ClientPrincipal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.issuer,
        audience: this.settings.audience,
        algorithms: ['RS256', 'ES256', 'PS256'],
        clockTolerance: 5,
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new AtollError('UNAUTHENTICATED', 'the token has expired');
      if (e instanceof joseErrors.JWKSTimeout) throw new AtollError('DEPENDENCY_UNAVAILABLE', 'identity provider');
      throw new AtollError('UNAUTHENTICATED', 'the token is not valid for this API');
    }
    const realmRoles = ((payload.realm_access as { roles?: unknown } | undefined)?.roles ?? []) as unknown[];
    const roles = knownRoles.filter((r) => realmRoles.includes(r));
    const clientId = typeof payload.azp === 'string' ? payload.azp : typeof payload.client_id === 'string' ? payload.client_id : '';
    const orgId = typeof payload.atoll_org === 'string' ? payload.atoll_org : '';
    if (!clientId || roles.length === 0 || !orgId) throw new AtollError('FORBIDDEN', 'the token carries no Atoll role or organisation');
    const authentication = {
      ...(typeof payload.acr === 'string' ? { acr: payload.acr } : {}),
      ...(typeof payload.auth_time === 'number' && Number.isFinite(payload.auth_time) ? { authTime: payload.auth_time } : {}),
    };
    return { kind: 'client', clientId, roles, orgId, authentication };
  }
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** Uses the atoll-admin service account (realm-management: manage-clients only) to mint org API keys. */
export class KeycloakClientAdmin {
  private token: { value: string; expiresAt: number } | null = null;

  constructor(private readonly opts: { url: string; realm: string; clientId: string; clientSecret: string }) {}

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 10_000) return this.token.value;
    const res = await fetch(`${this.opts.url}/realms/${this.opts.realm}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.opts.clientId, client_secret: this.opts.clientSecret }),
    });
    if (!res.ok) throw new AtollError('DEPENDENCY_UNAVAILABLE', `identity provider refused the admin client (HTTP ${res.status})`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    this.token = { value: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
    return body.access_token;
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.opts.url}/admin/realms/${this.opts.realm}${path}`, {
      method,
      headers: { Authorization: `Bearer ${await this.accessToken()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return res;
  }

  /** Creates a confidential client whose tokens carry `role` and `atoll_org = orgId`; returns its credentials. */
  async createOrgClient(opts: { clientId: string; role: Role; orgId: string; name: string }): Promise<ClientCredentials> {
    const res = await this.call('POST', '/clients', {
      clientId: opts.clientId,
      name: opts.name,
      enabled: true,
      publicClient: false,
      clientAuthenticatorType: 'client-secret',
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      implicitFlowEnabled: false,
      serviceAccountsEnabled: true,
      defaultClientScopes: ['atoll-api-audience', 'roles'],
      protocolMappers: [
        {
          name: 'org',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-hardcoded-claim-mapper',
          config: { 'claim.name': 'atoll_org', 'claim.value': opts.orgId, 'jsonType.label': 'String', 'access.token.claim': 'true' },
        },
        {
          name: 'role',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-hardcoded-role-mapper',
          config: { role: opts.role },
        },
      ],
    });
    if (res.status !== 201) throw new AtollError('DEPENDENCY_UNAVAILABLE', `identity provider could not create a client (HTTP ${res.status})`);
    const location = res.headers.get('location') ?? '';
    const internalId = location.split('/').pop() ?? '';
    const secretRes = await this.call('GET', `/clients/${internalId}/client-secret`);
    if (!secretRes.ok) throw new AtollError('DEPENDENCY_UNAVAILABLE', 'identity provider did not return the client secret');
    const { value } = (await secretRes.json()) as { value: string };
    return { clientId: opts.clientId, clientSecret: value };
  }

  async deleteClient(clientId: string): Promise<void> {
    const res = await this.call('GET', `/clients?clientId=${encodeURIComponent(clientId)}`);
    const found = (await res.json()) as Array<{ id: string }>;
    for (const c of found) await this.call('DELETE', `/clients/${c.id}`);
  }

  async ping(): Promise<void> {
    await this.accessToken();
  }
}

/** Client-credentials grant, for callers (tests, the demo, backends). */
export async function clientCredentialsToken(opts: { url: string; realm: string; clientId: string; clientSecret: string }): Promise<string> {
  const res = await fetch(`${opts.url}/realms/${opts.realm}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: opts.clientId, client_secret: opts.clientSecret }),
  });
  if (!res.ok) throw new Error(`token request for ${opts.clientId} failed: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
