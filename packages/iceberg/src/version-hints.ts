// version-hint.text written after the commit returned (a commit's `versionHint: 'background'`): one writer per table
// in this process, coalescing — while a hint write is in flight, later commits only leave the newest version for it.
import type { CatalogStore, TableIdentifier } from './catalog-store.js';
import { formatIdentifier } from './catalog-store.js';
import type { ObjectIO } from './io.js';
import { metadataVersion } from './metadata.js';
import { versionHintLocation, writeVersionHint } from './table-lifecycle.js';

/**
 * When a commit writes version-hint.text. `await` (the default): before the commit returns, so a path-based reader
 * that starts after it sees the new version. `background`: after it returns — the commit is durable and current in
 * the catalog either way; only the hint may lag (and, if the process dies first, until the table's next commit).
 */
export type VersionHintMode = 'await' | 'background';

interface HintRequest {
  catalog: CatalogStore;
  id: TableIdentifier;
  location: string;
  /** The metadata location the commit's swap made current. */
  metadataLocation: string;
  /** The caller saw the pointer at `metadataLocation` right after its swap (else the write reads the pointer first). */
  pointerSeen: boolean;
}

interface TableHints {
  /** The newest landed commit not yet handed to a write; null while none is waiting. */
  next: HintRequest | null;
  /** The highest metadata version requested during this run: an older request arriving late is dropped. */
  highest: number;
  /** The version this run wrote last: a queued request it already covers (the write's re-check got there) is skipped. */
  written: number | null;
}

// Keyed by the hint's own location (not the catalog object: the writer makes a catalog per commit batch).
const tablesByIo = new WeakMap<ObjectIO, Map<string, TableHints>>();
const running = new Set<Promise<void>>();
let failureListener: ((err: Error, table: string) => void) | null = null;

/**
 * Who hears of a background hint write that failed (the commit it followed stays committed; the hint is put right
 * by the table's next commit). One listener per process, e.g. the writer's logger; null removes it.
 */
export function onVersionHintFailure(listener: ((err: Error, table: string) => void) | null): void {
  failureListener = listener;
}

/**
 * Queues the hint write for a commit that landed at `metadataLocation`. Returns at once; never throws. Writes for one
 * table run one at a time, each for the newest commit queued by then; writeVersionHint re-reads the pointer after
 * writing, so the hint ends at the current version even when another process committed meanwhile.
 */
export function scheduleVersionHint(io: ObjectIO, request: HintRequest): void {
  let tables = tablesByIo.get(io);
  if (!tables) tablesByIo.set(io, (tables = new Map<string, TableHints>()));
  const key = versionHintLocation(request.location);
  const version = metadataVersion(request.metadataLocation) ?? 0;
  const queued = tables.get(key);
  if (queued) {
    if (version >= queued.highest) {
      queued.next = request;
      queued.highest = version;
    }
    return;
  }
  const state: TableHints = { next: request, highest: version, written: null };
  const map = tables;
  map.set(key, state);
  const run = (async () => {
    // Start on a later turn of the event loop: the commit's caller goes on first, not after this write's request is built.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (state.next) {
        const r = state.next;
        state.next = null;
        if (state.written !== null && (metadataVersion(r.metadataLocation) ?? 0) <= state.written) continue;
        try {
          const written = await writeVersionHint({ io, catalog: r.catalog, id: r.id, location: r.location, ...(r.pointerSeen ? { current: { metadataLocation: r.metadataLocation } } : {}) });
          if (written !== null) state.written = Math.max(state.written ?? 0, written);
        } catch (err) {
          try {
            failureListener?.(err instanceof Error ? err : new Error(String(err)), formatIdentifier(r.id));
          } catch {
            // A listener that throws must not stop the hints of later commits.
          }
        }
      }
    } finally {
      // No await between the loop's last check and here: a commit that lands now finds no run and starts one.
      map.delete(key);
    }
  })();
  running.add(run);
  void run.finally(() => running.delete(run));
}

/** Resolves once every background hint write of this process has settled (including ones queued meanwhile). */
export async function flushVersionHints(): Promise<void> {
  while (running.size > 0) await Promise.allSettled([...running]);
}
