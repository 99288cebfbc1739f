// The catalog's metadata files, tables' and views' alike: `<location>/metadata/vN.metadata.json`, written
// create-if-absent at the first free version (so a lost attempt never overwrites a live file) and read back for the
// pointer that names them. What the bytes mean is the caller's (table-lifecycle.ts, view-lifecycle.ts).
import { CorruptMetadataError, isObjectAlreadyExists, isObjectNotFound } from './errors.js';
import type { ObjectIO } from './io.js';

// Version numbers to skip past when v<N+1> exists but was never committed (a crashed writer's leftover).
export const MAX_VERSION_PROBES = 16;

/** Writes `<metadataDir>/vN.metadata.json` for the first free N ≥ `from`, returning its location; null when MAX_VERSION_PROBES are taken. */
export async function writeFirstFreeVersion(io: ObjectIO, metadataDir: string, bytes: Uint8Array, from: number): Promise<string | null> {
  for (let v = from; v < from + MAX_VERSION_PROBES; v++) {
    const location = `${metadataDir}/v${v}.metadata.json`;
    try {
      await io.write(location, bytes, { ifNoneMatch: true });
      return location;
    } catch (err) {
      if (!isObjectAlreadyExists(err)) throw err;
      // Another writer holds this version (committing now, or crashed before its swap): try the next number.
    }
  }
  return null;
}

/** The bytes of the metadata file a catalog pointer names; a missing one is corrupt metadata, worded as `missing`. */
export async function readPointedMetadata(io: ObjectIO, location: string, missing: string): Promise<Uint8Array> {
  try {
    return await io.read(location);
  } catch (err) {
    if (isObjectNotFound(err)) throw new CorruptMetadataError(location, missing, { cause: err });
    throw err;
  }
}
