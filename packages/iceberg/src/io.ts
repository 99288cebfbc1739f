// Object I/O behind one small interface (S3 lives in @atoll/storage); LocalFileIO serves file:// URIs for tests and dev.
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidInputError, ObjectAlreadyExistsError, ObjectNotFoundError } from './errors.js';

/**
 * Byte access to table files by absolute URI (s3://bucket/key, file:///abs/path).
 * Contract the commit protocol relies on:
 * - `read` of a missing object throws ObjectNotFoundError (or an error `isObjectNotFound` recognizes);
 * - `write` with `ifNoneMatch` creates the object only if absent, atomically, else throws ObjectAlreadyExistsError
 *   (or an HTTP 412 error `isObjectAlreadyExists` recognizes);
 * - a completed `write` is visible in full to every later `read` (no partial objects).
 */
export interface ObjectIO {
  read(uri: string): Promise<Uint8Array>;
  write(uri: string, bytes: Uint8Array, opts?: { ifNoneMatch?: boolean }): Promise<void>;
  exists(uri: string): Promise<boolean>;
  delete(uri: string): Promise<void>;
  /** Every object whose URI starts with `prefixUri` (recursively). Optional; orphan removal needs it. */
  list?(prefixUri: string): Promise<ObjectListing[]>;
  /** Deletes many objects in few requests (S3 DeleteObjects). Optional; maintenance falls back to `delete`. */
  deleteMany?(uris: string[]): Promise<void>;
}

export interface ObjectListing {
  uri: string;
  lastModified: Date;
  size: number;
}

/** Absolute file:// URI for a local absolute path. */
export function fileUri(absolutePath: string): string {
  return pathToFileURL(absolutePath).href;
}

/** ObjectIO over the local file system, for file:// URIs only. */
export class LocalFileIO implements ObjectIO {
  private path(uri: string): string {
    if (!uri.startsWith('file://')) throw new InvalidInputError(`LocalFileIO handles file:// URIs only, got ${uri}`);
    return fileURLToPath(uri);
  }

  async read(uri: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path(uri)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(uri, { cause: err });
      throw err;
    }
  }

  async write(uri: string, bytes: Uint8Array, opts?: { ifNoneMatch?: boolean }): Promise<void> {
    const target = this.path(uri);
    await mkdir(dirname(target), { recursive: true });
    // Write a private temp file first so no reader ever sees a half-written object, then publish it atomically:
    // link() fails if the target exists (create-if-absent), rename() replaces (plain overwrite).
    const temp = `${target}.${randomUUID()}.tmp`;
    await writeFile(temp, bytes, { flag: 'wx' });
    try {
      if (opts?.ifNoneMatch) {
        try {
          await link(temp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectAlreadyExistsError(uri, { cause: err });
          throw err;
        }
      } else {
        await rename(temp, target);
        return;
      }
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async exists(uri: string): Promise<boolean> {
    try {
      await stat(this.path(uri));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async delete(uri: string): Promise<void> {
    await rm(this.path(uri), { force: true });
  }

  async list(prefixUri: string): Promise<ObjectListing[]> {
    const prefix = this.path(prefixUri);
    // A prefix is not necessarily a directory (s3 semantics): walk its directory and filter by the full prefix.
    const root = prefixUri.endsWith('/') ? prefix : dirname(prefix);
    const out: ObjectListing[] = [];
    const walk = async (dir: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const name of names) {
        const full = join(dir, name);
        let info;
        try {
          info = await stat(full);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted while listing
          throw err;
        }
        if (info.isDirectory()) await walk(full);
        else if (full.startsWith(prefix)) out.push({ uri: fileUri(full), lastModified: info.mtime, size: info.size });
      }
    };
    await walk(root);
    return out;
  }
}

/** Deletes `uris`, ignoring failures: for files nothing references (lost commit attempts), which orphan removal collects. */
export async function deleteQuietly(io: ObjectIO, uris: string[]): Promise<void> {
  await Promise.all(uris.map((u) => io.delete(u).catch(() => undefined)));
}
