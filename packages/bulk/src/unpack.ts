// Decompression of staged bulk files to a local file, streaming, with size and ratio limits so a gzip, bzip2 or zip
// bomb is refused after at most `maxRatio` × its own size of disk (and never more than `maxBytes`).
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import unbzip2 from 'unbzip2-stream';
import yauzl from 'yauzl';
import type { BulkCompression } from './objects.js';
import { isEnvironmentFailure } from '@atoll/errors';

/** The file cannot be unpacked; `message` is the reason shown in the ingest report. */
export class UnpackError extends Error {}

export interface InflateLimits {
  /** Refuse once more than this many bytes came out. */
  maxBytes: number;
  /** Refuse once the output exceeds this multiple of the compressed size (past a 16 MiB floor). */
  maxRatio: number;
}

const RATIO_FLOOR_BYTES = 16 * 1024 * 1024;

class InflateLimiter extends Transform {
  #out = 0;
  constructor(private readonly compressedBytes: number, private readonly limits: InflateLimits) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#out += chunk.length;
    const byRatio = Math.max(RATIO_FLOOR_BYTES, this.compressedBytes * this.limits.maxRatio);
    if (this.#out > this.limits.maxBytes) return done(new UnpackError(`the file inflates past the limit of ${this.limits.maxBytes} bytes`));
    if (this.#out > byRatio) return done(new UnpackError(`the file inflates more than ${this.limits.maxRatio} times its compressed size (a compression bomb?)`));
    done(null, chunk);
  }
}

async function inflateStream(source: Readable, decoder: NodeJS.ReadWriteStream, compressedBytes: number, output: string, limits: InflateLimits, what: string): Promise<void> {
  try {
    await pipeline(source, decoder, new InflateLimiter(compressedBytes, limits), createWriteStream(output, { mode: 0o600 }));
  } catch (e) {
    if (e instanceof UnpackError || isEnvironmentFailure(e)) throw e;
    throw new UnpackError(`not a readable ${what} stream: ${(e as Error).message.split('\n')[0]}`);
  }
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // yauzl refuses absolute and "../" entry names itself (validateFileName) and checks declared sizes.
    yauzl.open(path, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip)));
  });
}

/** The one file entry of a zip archive: several files are refused (which of them would be the table's data?). */
async function singleZipEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry> {
  const files: yauzl.Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      // Folders and macOS resource forks carry no data.
      if (!entry.fileName.endsWith('/') && !entry.fileName.startsWith('__MACOSX/')) files.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  if (files.length !== 1) throw new UnpackError(`a .zip must hold exactly one file; this one holds ${files.length}`);
  return files[0]!;
}

/** Unpacks `input` to `output`; returns the inner file name for a zip (it decides the format when the key does not). */
export async function unpackToFile(input: string, compression: BulkCompression, output: string, limits: InflateLimits): Promise<{ entryName?: string }> {
  const compressedBytes = (await stat(input)).size;
  if (compression === 'gzip') {
    await inflateStream(createReadStream(input), createGunzip(), compressedBytes, output, limits, 'gzip');
    return {};
  }
  if (compression === 'bzip2') {
    await inflateStream(createReadStream(input), unbzip2(), compressedBytes, output, limits, 'bzip2');
    return {};
  }
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(input);
  } catch (e) {
    throw new UnpackError(`not a readable zip archive: ${(e as Error).message}`);
  }
  try {
    let entry: yauzl.Entry;
    try {
      entry = await singleZipEntry(zip);
    } catch (e) {
      if (e instanceof UnpackError) throw e;
      throw new UnpackError(`not a readable zip archive: ${(e as Error).message}`);
    }
    if (entry.uncompressedSize > limits.maxBytes) throw new UnpackError(`the zip entry declares ${entry.uncompressedSize} bytes, past the limit of ${limits.maxBytes}`);
    const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(new UnpackError(`not a readable zip entry: ${err.message}`)) : resolve(s))));
    // A pass-through decoder: yauzl inflates; the limiter still counts against the archive's own size.
    await inflateStream(stream, new Transform({ transform: (c: Buffer, _e, d) => d(null, c) }), compressedBytes, output, limits, 'zip');
    return { entryName: entry.fileName };
  } finally {
    zip.close();
  }
}
