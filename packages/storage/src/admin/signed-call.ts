// One SigV4-signed HTTP call to an S3 server's admin, IAM or STS endpoint, with a time limit and errors that name the
// operation, status and server code but never a secret. Shared by every StorageAdmin implementation.
import aws4 from 'aws4';
import { StorageAdminError } from './storage-admin.js';
import { parseXml, xmlChild, xmlText, type XmlElement } from './xml.js';

const MAX_SERVER_MESSAGE_LENGTH = 500;

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface SignedClient {
  base: URL;
  region: string;
  accessKey: string;
  secretKey: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

/** How an admin client reaches its server; each implementation's options extend this. */
export interface SignedClientOptions {
  /** Base URL of the server's S3 endpoint (a bare origin: admin, IAM and STS paths are absolute on the server). */
  endpoint: string;
  /** Region used for signing; must match the server's configured region if it has one. */
  region: string;
  accessKey: string;
  secretKey: string;
  /** Per-request time limit. Defaults to 30 s. */
  timeoutMs?: number;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
}

/** A checked client: `owner` names the implementation in errors, `example` is a bare origin for its message. */
export function signedClient(owner: string, opts: SignedClientOptions, example: string): SignedClient {
  const base = new URL(opts.endpoint);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`${owner}: endpoint must be http(s)`);
  // A path prefix would be silently dropped.
  if (base.pathname !== '/' || base.search || base.hash || base.username || base.password) {
    throw new TypeError(`${owner}: endpoint must be a bare origin such as ${example}`);
  }
  if (!opts.region) throw new TypeError(`${owner}: region is required`);
  if (!opts.accessKey || !opts.secretKey) throw new TypeError(`${owner}: accessKey and secretKey are required`);
  return { base, region: opts.region, accessKey: opts.accessKey, secretKey: opts.secretKey, timeoutMs: opts.timeoutMs ?? 30_000, fetch: opts.fetch ?? fetch };
}

export function requireName(operation: string, what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${operation}: ${what} must be a non-empty string`);
}

export interface CallOptions {
  operation: string;
  method: HttpMethod;
  /** The SigV4 service name: `s3` (MinIO admin), `sts`, `iam`. */
  service: 's3' | 'sts' | 'iam';
  path: string;
  query?: Record<string, string>;
  body?: Buffer;
  contentType?: string;
  /** Server error codes that mean the desired state already holds (idempotent calls). */
  acceptCodes?: readonly string[];
  /** Extra secrets that must not appear in error messages (e.g. a user's new secret key). */
  secrets?: readonly string[];
}

export async function signedCall(client: SignedClient, opts: CallOptions): Promise<Buffer> {
  const query = opts.query
    ? `?${Object.entries(opts.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
    : '';
  const headers: Record<string, string> = {};
  if (opts.contentType) headers['Content-Type'] = opts.contentType;
  const signed = aws4.sign(
    {
      host: client.base.host,
      method: opts.method,
      path: `${opts.path}${query}`,
      headers,
      service: opts.service,
      region: client.region,
      ...(opts.body ? { body: opts.body } : {}),
    },
    { accessKeyId: client.accessKey, secretAccessKey: client.secretKey },
  );
  // fetch sets Host and Content-Length itself from the URL and body, to the same values that were signed.
  const sendHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'content-length' || value === undefined) continue;
    sendHeaders[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  const url = new URL(signed.path ?? opts.path, client.base);

  let response: Response;
  let body: Buffer;
  try {
    response = await client.fetch(url, {
      method: opts.method,
      headers: sendHeaders,
      ...(opts.body ? { body: opts.body } : {}),
      signal: AbortSignal.timeout(client.timeoutMs),
      redirect: 'error',
    });
    body = Buffer.from(await response.arrayBuffer());
  } catch (cause) {
    const reason = cause instanceof Error && cause.name === 'TimeoutError' ? 'timed out' : 'request failed';
    throw new StorageAdminError({
      operation: opts.operation,
      status: 0,
      code: undefined,
      serverMessage: `${reason} (${url.origin})`,
      requestId: undefined,
      cause,
    });
  }
  if (response.ok) return body;

  const parsed = parseErrorBody(body, response.headers.get('content-type'));
  if (parsed.code !== undefined && opts.acceptCodes?.includes(parsed.code)) return body;
  const secrets = [client.secretKey, ...(opts.secrets ?? [])];
  throw new StorageAdminError({
    operation: opts.operation,
    status: response.status,
    code: parsed.code,
    serverMessage: parsed.message === undefined ? undefined : redact(parsed.message, secrets),
    requestId: parsed.requestId ?? response.headers.get('x-amz-request-id') ?? undefined,
  });
}

interface ParsedError {
  code: string | undefined;
  message: string | undefined;
  requestId: string | undefined;
}

/** Reads MinIO's error body: JSON from the admin API, XML (S3 `<Error>` or STS `<ErrorResponse>`) otherwise. */
export function parseErrorBody(body: Buffer, contentType: string | null): ParsedError {
  const text = body.toString('utf8').trim();
  const none: ParsedError = { code: undefined, message: undefined, requestId: undefined };
  if (text === '') return none;
  if (contentType?.includes('json') || text.startsWith('{')) {
    try {
      const json: unknown = JSON.parse(text);
      if (json && typeof json === 'object') {
        const record = json as Record<string, unknown>;
        return { code: stringField(record.Code), message: stringField(record.Message), requestId: stringField(record.RequestId) };
      }
    } catch {
      // Not JSON after all; fall through to XML.
    }
  }
  if (text.startsWith('<')) {
    try {
      const root = parseXml(text);
      const error: XmlElement | undefined = root.name === 'Error' ? root : xmlChild(root, 'Error');
      if (error) {
        return {
          code: xmlText(error, 'Code') || undefined,
          message: xmlText(error, 'Message') || undefined,
          requestId: (xmlText(root, 'RequestId') ?? xmlText(error, 'RequestId')) || undefined,
        };
      }
    } catch {
      // Unreadable error body; report the status alone.
    }
  }
  return none;
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Defence in depth: a server message should never echo a secret, but make sure none reaches an error message. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  return out.length > MAX_SERVER_MESSAGE_LENGTH ? `${out.slice(0, MAX_SERVER_MESSAGE_LENGTH)}…` : out;
}

