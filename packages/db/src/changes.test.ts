import { afterEach, describe, expect, it, vi } from 'vitest';
import { FreshCache, type ChangeSource } from './changes.js';

/** A change source the test drives: notices and resets by hand, `live` settable. */
function feed(): ChangeSource & { notify(p: string): void; reset(): void; live: boolean } {
  const changes: Array<(p: string) => void> = [];
  const resets: Array<() => void> = [];
  return {
    live: true,
    subscribe(onChange, onReset) {
      changes.push(onChange);
      resets.push(onReset);
    },
    notify: (p) => changes.forEach((c) => c(p)),
    reset: () => resets.forEach((r) => r()),
  };
}

/** A loader that counts its reads and answers what `answer` holds now. */
function source<V>(answer: { value: V | null; until?: number }) {
  const s = {
    reads: 0,
    load: async () => {
      s.reads += 1;
      return answer.value === null ? null : { value: answer.value, ...(answer.until !== undefined ? { until: answer.until } : {}) };
    },
  };
  return s;
}

afterEach(() => vi.useRealTimers());

describe('FreshCache', () => {
  it('keeps a positive answer, never a negative one', async () => {
    const f = feed();
    const cache = new FreshCache<string>({ feed: f, kind: 'device' });
    const answer: { value: string | null } = { value: null };
    const s = source(answer);
    expect(await cache.get('d1', s.load)).toBeNull();
    expect(await cache.get('d1', s.load)).toBeNull();
    expect(s.reads).toBe(2);
    answer.value = 'yes';
    expect(await cache.get('d1', s.load)).toBe('yes');
    answer.value = null;
    // Still the remembered yes: nothing said it changed, and it is younger than the time-to-live.
    expect(await cache.get('d1', s.load)).toBe('yes');
    expect(s.reads).toBe(3);
  });

  it('drops an entry on its notice, a group on a group notice, a provider on a prefix notice', async () => {
    const f = feed();
    const cache = new FreshCache<boolean>({ feed: f, kind: 'license', prefixKind: 'license-provider', groupOf: (k) => k.slice(0, k.lastIndexOf(':')) });
    const answer: { value: boolean | null } = { value: true };
    const s = source(answer);
    for (const k of ['p1:t1:events', 'p1:t1:other', 'p1:t2:events', 'p2:t1:events']) await cache.get(k, s.load);
    expect(cache.size).toBe(4);
    f.notify('license:p1:t1');
    expect(cache.size).toBe(2);
    answer.value = null;
    expect(await cache.get('p1:t1:events', s.load)).toBeNull();
    expect(await cache.get('p1:t2:events', s.load)).toBe(true);
    f.notify('license-provider:p1');
    expect(await cache.get('p1:t2:events', s.load)).toBeNull();
    expect(await cache.get('p2:t1:events', s.load)).toBe(true);
    // Other kinds are not this cache's business.
    f.notify('device:p2:t1');
    expect(await cache.get('p2:t1:events', s.load)).toBe(true);
  });

  it('trusts nothing older than its time-to-live (capped at one second) or past the answer’s own end', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const f = feed();
    const cache = new FreshCache<boolean>({ feed: f, kind: 'license', ttlMs: 60_000 });
    const answer: { value: boolean | null; until?: number } = { value: true };
    const s = source(answer);
    await cache.get('k', s.load);
    vi.setSystemTime(1_000_999);
    await cache.get('k', s.load);
    expect(s.reads).toBe(1);
    vi.setSystemTime(1_001_000);
    answer.value = null;
    expect(await cache.get('k', s.load)).toBeNull();

    answer.value = true;
    answer.until = 1_001_300;
    await cache.get('j', s.load);
    vi.setSystemTime(1_001_300);
    answer.value = null;
    expect(await cache.get('j', s.load)).toBeNull();
  });

  it('reads through while the feed does not listen, and forgets everything when it reconnects', async () => {
    const f = feed();
    const cache = new FreshCache<boolean>({ feed: f, kind: 'device' });
    const answer: { value: boolean | null } = { value: true };
    const s = source(answer);
    f.live = false;
    await cache.get('d', s.load);
    await cache.get('d', s.load);
    expect(s.reads).toBe(2);
    expect(cache.size).toBe(0);
    f.live = true;
    await cache.get('d', s.load);
    expect(cache.size).toBe(1);
    f.reset();
    expect(cache.size).toBe(0);
  });

  it('shares one read among concurrent callers, and does not keep a read a notice overtook', async () => {
    const f = feed();
    const cache = new FreshCache<string>({ feed: f, kind: 'device' });
    let release!: (v: { value: string }) => void;
    let reads = 0;
    const slow = () => {
      reads += 1;
      return new Promise<{ value: string }>((r) => (release = r));
    };
    const a = cache.get('d', slow);
    const b = cache.get('d', slow);
    expect(reads).toBe(1);
    // The device is revoked while the read is on its way: its answer may predate that, so it is not remembered,
    // and a caller arriving now reads again instead of joining it.
    f.notify('device:d');
    const c = cache.get('d', async () => {
      reads += 1;
      return null;
    });
    release({ value: 'stale' });
    expect(await a).toBe('stale');
    expect(await b).toBe('stale');
    expect(await c).toBeNull();
    expect(reads).toBe(2);
    expect(cache.size).toBe(0);
  });
});
