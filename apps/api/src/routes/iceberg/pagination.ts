// Pagination of the catalog's list routes (`pageToken` / `pageSize`, REST spec `PageToken`). A token names the last
// item a page returned and the listing it belongs to, HMAC-signed so a client can neither forge a position nor carry a
// token over to another listing; anything that does not verify is a 400.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Caller } from './access.js';
import { badRequest } from './errors.js';

/** Pages are capped so one request stays cheap whatever a client asks for. */
export const MAX_PAGE_SIZE = 1000;

export interface Page<T> {
  items: T[];
  /** Present (null on the last page) only when the client asked for pages, as the spec says. */
  nextPageToken?: string | null;
}

/** What a page token is bound to: the list route, the caller (a consumer, or the lake's operators) and what is listed. */
export function listingOf(route: 'namespaces' | 'tables' | 'views', caller: Caller, listed: string[]): string {
  return `${route}:${caller.kind === 'consumer' ? caller.consumerId : 'lake'}:${listed.join('\u001f')}`;
}

/** The end of a list answer: `next-page-token` only when the client asked for pages (the spec's two forms). */
export function nextPageTokenField(page: Page<unknown>): { 'next-page-token'?: string | null } {
  return page.nextPageToken !== undefined ? { 'next-page-token': page.nextPageToken } : {};
}

export class PageTokens {
  private readonly key: Buffer;

  constructor(rootSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', rootSecret, 'atoll', 'atoll iceberg page tokens v1', 32));
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }

  /**
   * One page of `sorted` (ascending by `keyOf`, keys unique) for the listing named `listing` (route and caller scope).
   * Without `pageToken` and `pageSize`, everything in one answer with no next-page-token (the spec's non-paginated
   * form); an empty `pageToken` starts paging.
   */
  page<T>(opts: { listing: string; sorted: T[]; keyOf: (item: T) => string; pageToken?: string | undefined; pageSize?: string | number | undefined }): Page<T> {
    const { listing, sorted, keyOf, pageToken, pageSize } = opts;
    if (pageToken === undefined && pageSize === undefined) return { items: sorted };
    const after = pageToken ? this.open(pageToken, listing) : undefined;
    const asked = pageSize === undefined ? MAX_PAGE_SIZE : Number(pageSize);
    if (!Number.isInteger(asked) || asked < 1) throw badRequest('pageSize must be a positive integer');
    const size = Math.min(asked, MAX_PAGE_SIZE);
    const start = after === undefined ? 0 : sorted.findIndex((item) => keyOf(item) > after);
    const rest = start < 0 ? [] : sorted.slice(start);
    const items = rest.slice(0, size);
    const last = items[items.length - 1];
    return { items, nextPageToken: rest.length > size && last !== undefined ? this.seal(keyOf(last), listing) : null };
  }

  private seal(after: string, listing: string): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, l: listing, a: after })).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  private open(token: string, listing: string): string {
    const [payload, sig, extra] = token.split('.');
    const given = sig === undefined ? undefined : Buffer.from(sig, 'base64url');
    const expected = payload === undefined ? undefined : this.mac(payload);
    if (extra !== undefined || !payload || !given || !expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw badRequest('pageToken is not a token this catalog issued (altered or truncated); start again without it');
    }
    // Signed by us, so it parses; a key rotation (another ATOLL_TID_KEY) fails the signature check above instead.
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { v?: unknown; l?: unknown; a?: unknown };
    if (body.v !== 1 || typeof body.a !== 'string') throw badRequest('pageToken is not a token this catalog issued');
    if (body.l !== listing) throw badRequest('pageToken belongs to another listing (another namespace, parent or caller)');
    return body.a;
  }
}
