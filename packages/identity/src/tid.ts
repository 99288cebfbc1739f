// TIDs: the pseudonym that replaces a provider's user id everywhere consumers can see (decision 8).
import { createHmac } from 'node:crypto';

/** Keyed HMAC-SHA256 of (provider, user id), 128 bits as hex. Stable per provider and user; unlinkable without the key. */
export function tidFor(key: string, providerId: string, userId: string): string {
  return createHmac('sha256', key).update(providerId).update('\u0000').update(userId).digest('hex').slice(0, 32);
}
