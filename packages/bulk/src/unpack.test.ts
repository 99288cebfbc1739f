import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroToNdjson, decimalText, timestampText } from './avro.js';
import { unpackToFile, UnpackError } from './unpack.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atoll-unpack-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const limits = { maxBytes: 64 * 1024 * 1024, maxRatio: 50 };

describe('unpackToFile', () => {
  it('inflates gzip, including several concatenated members', async () => {
    const input = join(dir, 'ok.csv.gz');
    await writeFile(input, Buffer.concat([gzipSync('a,b\n'), gzipSync('1,2\n')]));
    await unpackToFile(input, 'gzip', join(dir, 'ok.csv'), limits);
    expect(await readFile(join(dir, 'ok.csv'), 'utf8')).toBe('a,b\n1,2\n');
  });

  it('refuses a gzip bomb by ratio, leaving at most ratio × its size behind', async () => {
    const input = join(dir, 'bomb.gz');
    await writeFile(input, gzipSync(Buffer.alloc(48 * 1024 * 1024)));
    const out = join(dir, 'bomb.out');
    await expect(unpackToFile(input, 'gzip', out, limits)).rejects.toThrow(/inflates more than 50 times/);
    expect((await stat(out)).size).toBeLessThanOrEqual(17 * 1024 * 1024);
  });

  it('refuses by absolute size and names a corrupt stream', async () => {
    const input = join(dir, 'big.gz');
    await writeFile(input, gzipSync(Buffer.alloc(2 * 1024 * 1024, 'x')));
    await expect(unpackToFile(input, 'gzip', join(dir, 'big.out'), { maxBytes: 1024 * 1024, maxRatio: 1000 })).rejects.toThrow(/past the limit of 1048576 bytes/);
    const corrupt = join(dir, 'corrupt.gz');
    await writeFile(corrupt, Buffer.concat([gzipSync('a,b\n').subarray(0, 12), Buffer.from('garbage!garbage!')]));
    await expect(unpackToFile(corrupt, 'gzip', join(dir, 'corrupt.out'), limits)).rejects.toBeInstanceOf(UnpackError);
    await expect(unpackToFile(corrupt, 'zip', join(dir, 'corrupt.out'), limits)).rejects.toThrow(/not a readable zip archive/);
  });
});

describe('Avro logical types', () => {
  it('turn decimals (two\'s complement) and timestamps into exact text', () => {
    expect(decimalText(Buffer.from([0xfe, 0x1d, 0xc0]), 2)).toBe('-1234.56');
    expect(decimalText(Buffer.from([0x01]), 2)).toBe('0.01');
    expect(decimalText(Buffer.from([0x00, 0xff]), 0)).toBe('255');
    expect(timestampText(1767323045123456n, 'micros')).toBe('2026-01-02T03:04:05.123456Z');
    expect(timestampText(1767323045123n, 'millis')).toBe('2026-01-02T03:04:05.123000Z');
    expect(timestampText(-1n, 'micros')).toBe('1969-12-31T23:59:59.999999Z');
  });

  it('refuse a file that is not Avro', async () => {
    const file = join(dir, 'not.avro');
    await writeFile(file, 'Obj\u0001garbage');
    await expect(avroToNdjson(file, join(dir, 'not.ndjson'))).rejects.toThrow(/not a readable Avro file/);
  });
});
