import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtollError } from '@atoll/errors';
import { receiveNdjson, recordValidator } from './receive.js';

const columns = [
  { name: 'user_id', type: 'string', role: 'user_id' as const },
  { name: 'kind', type: 'string' },
  { name: 'value', type: 'long' },
];

describe('recordValidator', () => {
  it('for devices: fills user_id from the subject and refuses records that carry it', () => {
    const v = recordValidator(columns, { userId: 'u-1' });
    expect(v({ kind: 'a', value: 1 }, 1)).toEqual({ user_id: 'u-1', kind: 'a', value: 1 });
    expect(() => v({ user_id: 'victim', kind: 'a', value: 1 }, 4)).toThrow(/line 4: user_id is filled by the server/);
    expect(() => v({ kind: 'a', value: 'x' }, 2)).toThrow(AtollError);
  });
  it('for providers: the record names its user id', () => {
    const v = recordValidator(columns);
    expect(v({ user_id: 'u-2', kind: 'a', value: 1 }, 1)).toEqual({ user_id: 'u-2', kind: 'a', value: 1 });
    expect(() => v({ kind: 'a', value: 1 }, 3)).toThrow(/line 3/);
  });
});

describe('receiveNdjson', () => {
  const validate = recordValidator(columns);
  const limits = { maxBytes: 8 * 1024 * 1024, maxRecords: 100_000 };
  const line = (i: number) => `{"user_id":"u-${i}","kind":"k","value":${i}}\n`;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'atoll-receive-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a small body in memory, read in one go', async () => {
    const got = await receiveNdjson(Readable.from([Buffer.from(line(1) + line(2).trimEnd())]), validate, limits, join(dir, 'small.ndjson'));
    expect(got.records).toBe(2);
    expect(got.buffer?.toString()).toBe(`${line(1)}${line(2)}`);
    expect(existsSync(join(dir, 'small.ndjson'))).toBe(false);
  });

  it('streams a body past the in-memory threshold to its file, every record once and in order', async () => {
    const n = 12_000; // ~500 KB in chunks of ~16 KB: the first read stops past 256 KiB and the stream is read on
    const body = Buffer.from(Array.from({ length: n }, (_, i) => line(i)).join(''));
    const chunks = Array.from({ length: Math.ceil(body.length / 16_000) }, (_, i) => body.subarray(i * 16_000, (i + 1) * 16_000));
    const file = join(dir, 'large.ndjson');
    const got = await receiveNdjson(Readable.from(chunks), validate, limits, file);
    expect(got).toEqual({ records: n, bytes: body.length });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(n);
    expect(lines.map((l) => (JSON.parse(l) as { value: number }).value)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('refuses a bad line past the threshold with its line number, the file closed', async () => {
    const body = Buffer.from(`${Array.from({ length: 9_000 }, (_, i) => line(i)).join('')}{"user_id":"u","value":"x"}\n`);
    const file = join(dir, 'bad.ndjson');
    await expect(receiveNdjson(Readable.from([body.subarray(0, 300_000), body.subarray(300_000)]), validate, limits, file)).rejects.toThrow(/line 9001/);
  });

  it('fails when the body stops before its end (client gone), and on a stream error', async () => {
    const gone = new Readable({ read() {} });
    const pending = receiveNdjson(gone, validate, limits, join(dir, 'gone.ndjson'));
    gone.push(Buffer.from(line(1)));
    gone.destroy();
    await expect(pending).rejects.toThrow(/Premature close/);
    const broken = new Readable({ read() {} });
    const failing = receiveNdjson(broken, validate, limits, join(dir, 'broken.ndjson'));
    broken.destroy(new Error('aborted'));
    await expect(failing).rejects.toThrow('aborted');
  });

  it('refuses a body that ends inside a multi-byte character instead of dropping the cut-off bytes', async () => {
    for (const tail of [[0xc3], [0xe2, 0x82]]) {
      const withNewline = Buffer.concat([Buffer.from(line(1)), Buffer.from(tail)]);
      await expect(receiveNdjson(Readable.from([withNewline]), validate, limits, join(dir, 'cut.ndjson'))).rejects.toMatchObject({ code: 'MALFORMED_NDJSON' });
      const inLastLine = Buffer.concat([Buffer.from(line(1).trimEnd()), Buffer.from(tail)]);
      await expect(receiveNdjson(Readable.from([inLastLine]), validate, limits, join(dir, 'cut2.ndjson'))).rejects.toMatchObject({ code: 'MALFORMED_NDJSON' });
    }
    // A character split across chunks is still whole.
    const euro = Buffer.from(`{"user_id":"u","kind":"€","value":1}`);
    const got = await receiveNdjson(Readable.from([euro.subarray(0, 24), euro.subarray(24)]), validate, limits, join(dir, 'split.ndjson'));
    expect(got.records).toBe(1);
  });

  it('counts bytes and records against the limits', async () => {
    await expect(receiveNdjson(Readable.from([Buffer.from(line(1).repeat(3))]), validate, { maxBytes: 100, maxRecords: 10 }, join(dir, 'b.ndjson'))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(receiveNdjson(Readable.from([Buffer.from(line(1).repeat(3))]), validate, { maxBytes: 1000, maxRecords: 2 }, join(dir, 'r.ndjson'))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});
