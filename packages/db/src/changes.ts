// Read-through caches of control-plane rows, kept honest by Postgres: triggers (migration 015) NOTIFY `atoll_changes`
// whenever a right a cache may hold is taken away, one listening connection per process drops the entry, and a short
// time-to-live bounds staleness should a notice ever be missed.
import pg from 'pg';

export const CHANGES_CHANNEL = 'atoll_changes';

type Listener = (payload: string) => void;

/**
 * One dedicated connection LISTENing on {@link CHANGES_CHANNEL}, reconnecting with back-off. While it is not
 * connected, `live` is false and caches stop answering from memory: a notice could be missed meanwhile.
 */
export class ChangeFeed {
  private client: pg.Client | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly resets = new Set<() => void>();
  private closed = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null = null;
  /** True while the LISTEN connection is up: only then may a cache answer without reading. */
  live = false;

  constructor(private readonly opts: { connectionString: string; applicationName?: string; onError?: (e: Error) => void }) {}

  /** Connects (once); resolves when LISTEN is in place or the first attempt failed (then it retries in the background). */
  start(): Promise<void> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: this.opts.applicationName ?? 'atoll-changes', keepAlive: true });
    const lost = (e?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      this.live = false;
      if (e) this.opts.onError?.(e);
      client.end().catch(() => undefined);
      this.schedule();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      if (n.channel !== CHANGES_CHANNEL || n.payload === undefined) return;
      for (const l of this.listeners) l(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (e) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      this.opts.onError?.(e as Error);
      this.schedule();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = 100;
    // Anything cached before this point may have missed a notice while no connection listened.
    for (const r of this.resets) r();
    this.live = true;
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connecting = this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  /**
   * Resolves when `payload` is heard (or after `timeoutMs`, or at once when not listening). Call it before the change
   * commits; awaiting it afterwards tells the changing process that Postgres has sent the notice out — to every
   * replica's listener at the same moment as to this one.
   */
  waitFor(payload: string, timeoutMs: number): Promise<void> {
    if (!this.live) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      const listener: Listener = (p) => {
        if (p === payload) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.listeners.add(listener);
    });
  }

  subscribe(onChange: Listener, onReset: () => void): void {
    this.listeners.add(onChange);
    this.resets.add(onReset);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.live = false;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

/** What a cache needs of a change feed ({@link ChangeFeed}; tests pass their own). */
export interface ChangeSource {
  readonly live: boolean;
  subscribe(onChange: (payload: string) => void, onReset: () => void): void;
}

export interface FreshCacheOptions {
  feed: ChangeSource;
  /** The notice kind this cache follows: `<kind>:<group>` drops every entry of that group. */
  kind: string;
  /** The group of a key (the part of it a notice names); the key itself by default. */
  groupOf?: (key: string) => string;
  /** A notice `<prefixKind>:<x>` drops every group starting with `<x>:` (e.g. all licenses of a provider). */
  prefixKind?: string;
  /** At most this long an entry is trusted without a read (≤ 1 s: SPEC §5's bound on revocation). */
  ttlMs?: number;
  maxEntries?: number;
}

interface Entry<V> {
  value: V;
  until: number;
  group: string;
}

/**
 * Positive answers only, by key, each until the earlier of its time-to-live and its own `until` (e.g. a license's
 * expiry). A negative answer is never cached, so a new right is seen at once; a lost right is seen on its notice, or
 * at the latest after `ttlMs`.
 */
export class FreshCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly reading = new Map<string, { epoch: number; result: Promise<V | null> }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly kindPrefix: string;
  private readonly groupPrefix: string | null;
  private readonly groupOf: (key: string) => string;
  /** Bumped by every notice and reset: a read that overlapped one is not kept (it may predate the change). */
  private epoch = 0;

  constructor(private readonly opts: FreshCacheOptions) {
    this.ttlMs = Math.min(opts.ttlMs ?? 1000, 1000);
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.kindPrefix = `${opts.kind}:`;
    this.groupPrefix = opts.prefixKind ? `${opts.prefixKind}:` : null;
    this.groupOf = opts.groupOf ?? ((k) => k);
    opts.feed.subscribe(
      (payload) => {
        if (payload.startsWith(this.kindPrefix)) this.invalidateGroup(payload.slice(this.kindPrefix.length));
        else if (this.groupPrefix && payload.startsWith(this.groupPrefix)) this.invalidatePrefix(`${payload.slice(this.groupPrefix.length)}:`);
      },
      () => this.clear(),
    );
  }

  /**
   * The cached value of `key`, or `load()`'s. `load` returns `null` for "no" (never cached) or the value with the
   * moment (ms since epoch) after which it no longer holds, if any.
   */
  async get(key: string, load: () => Promise<{ value: V; until?: number } | null>): Promise<V | null> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now() && this.opts.feed.live) return hit.value;
    if (hit) this.remove(key);
    // One read per key at a time: callers arriving while it runs share it, unless a notice came since it started
    // (then its answer may predate the change, and they read again).
    const running = this.reading.get(key);
    if (running && running.epoch === this.epoch) return running.result;
    const epoch = this.epoch;
    const result = this.read(key, load, epoch);
    this.reading.set(key, { epoch, result });
    try {
      return await result;
    } finally {
      if (this.reading.get(key)?.result === result) this.reading.delete(key);
    }
  }

  private async read(key: string, load: () => Promise<{ value: V; until?: number } | null>, epoch: number): Promise<V | null> {
    const started = Date.now();
    // The feed must listen before the read starts: a change committed after the read is then sure to be heard.
    const wasLive = this.opts.feed.live;
    const loaded = await load();
    if (!loaded) return null;
    if (wasLive && this.opts.feed.live && epoch === this.epoch) {
      if (this.entries.size >= this.maxEntries) this.remove(this.entries.keys().next().value!);
      const group = this.groupOf(key);
      // The time-to-live counts from the read's start: the answer is as old as the moment it was asked.
      this.entries.set(key, { value: loaded.value, until: Math.min(started + this.ttlMs, loaded.until ?? Infinity), group });
      let keys = this.groups.get(group);
      if (!keys) this.groups.set(group, (keys = new Set()));
      keys.add(key);
    }
    return loaded.value;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    const keys = this.groups.get(e.group);
    keys?.delete(key);
    if (keys?.size === 0) this.groups.delete(e.group);
  }

  /** Drops a group at once (the process that made a change need not wait for its own notice). */
  invalidateGroup(group: string): void {
    this.epoch += 1;
    const keys = this.groups.get(group);
    if (!keys) return;
    this.groups.delete(group);
    for (const k of keys) this.entries.delete(k);
  }

  invalidatePrefix(prefix: string): void {
    this.epoch += 1;
    for (const g of [...this.groups.keys()]) if (g.startsWith(prefix)) this.invalidateGroup(g);
  }

  clear(): void {
    this.epoch += 1;
    this.entries.clear();
    this.groups.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
