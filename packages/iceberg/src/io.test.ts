// LocalFileIO honours the ObjectIO contract the commit protocol depends on.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, ObjectAlreadyExistsError, ObjectNotFoundError, isObjectAlreadyExists, isObjectNotFound } from './errors.js';
import { LocalFileIO, fileUri } from './io.js';

describe('LocalFileIO', () => {
  const io = new LocalFileIO();
  const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

  it('writes (creating directories), reads, overwrites, deletes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ib-io-'));
    const uri = fileUri(join(dir, 'a', 'b', 'c.txt'));
    expect(await io.exists(uri)).toBe(false);
    await io.write(uri, bytes('one'));
    await io.write(uri, bytes('two'));
    expect(Buffer.from(await io.read(uri)).toString()).toBe('two');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['c.txt']); // no temp files left behind
    await io.delete(uri);
    await io.delete(uri); // deleting a missing object is not an error
    expect(await io.exists(uri)).toBe(false);
  });

  it('ifNoneMatch creates only once; missing reads are ObjectNotFoundError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ib-io-'));
    const uri = fileUri(join(dir, 'v1.metadata.json'));
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => io.write(uri, bytes(`writer ${i}`), { ifNoneMatch: true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.every((r) => r.reason instanceof ObjectAlreadyExistsError && isObjectAlreadyExists(r.reason))).toBe(true);
    expect(Buffer.from(await io.read(uri)).toString()).toMatch(/^writer \d$/);
    expect(readdirSync(dir)).toEqual(['v1.metadata.json']);
    const missing = await io.read(fileUri(join(dir, 'nope'))).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ObjectNotFoundError);
    expect(isObjectNotFound(missing)).toBe(true);
    expect(isObjectNotFound({ name: 'NoSuchKey' })).toBe(true);
    expect(isObjectAlreadyExists({ $metadata: {}, statusCode: 412 })).toBe(true);
    await expect(io.read('s3://bucket/key')).rejects.toThrow(InvalidInputError);
  });
});
