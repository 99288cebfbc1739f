import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orcReason, orcToParquet, parseConverterOutput } from './orc.js';
import { UnpackError } from './unpack.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atoll-orc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in converter: a shell script with the real one's exit-code contract. */
async function fakeConverter(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('orcReason', () => {
  it('keeps the first line of the reason, bounded', () => {
    expect(orcReason('not a readable ORC file: it does not start with the ORC magic\nsecond line\n')).toBe('not a readable ORC file: it does not start with the ORC magic');
    expect(orcReason('x'.repeat(1000))).toHaveLength(300);
    expect(orcReason('\n\n')).toBe('not a readable ORC file');
  });

  it('never passes a local path through', () => {
    const reason = orcReason("cannot open '/var/lib/atoll/work/ingest-1/unpacked' (/tmp/x.orc)");
    expect(reason).not.toMatch(/\/var|\/tmp/);
    expect(reason).toBe("cannot open 'the file' (the file)");
    // A fraction or a ratio is not a path.
    expect(orcReason('row 3, column at: 1/2')).toBe('row 3, column at: 1/2');
  });
});

describe('parseConverterOutput', () => {
  it('reads the row count and refuses anything else', () => {
    expect(parseConverterOutput('{"rows":42}\n')).toEqual({ rows: 42 });
    expect(() => parseConverterOutput('{"rows":-1}')).toThrow(/no row count/);
    expect(() => parseConverterOutput('{}')).toThrow(/no row count/);
  });
});

describe('orcToParquet', () => {
  it('turns exit 2 into a rejection with the reason, and any other failure into a retryable error', async () => {
    const rejecting = await fakeConverter('reject.sh', 'echo "not a readable ORC file: it ends early (truncated?)" >&2; exit 2');
    const err = await orcToParquet('in.orc', 'out.parquet', { binary: rejecting }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnpackError);
    expect((err as Error).message).toBe('not a readable ORC file: it ends early (truncated?)');

    const crashing = await fakeConverter('crash.sh', 'echo "boom at /root/x" >&2; exit 101');
    const crash = await orcToParquet('in.orc', 'out.parquet', { binary: crashing }).catch((e: unknown) => e);
    expect(crash).not.toBeInstanceOf(UnpackError);
    expect((crash as Error).message).toBe('the ORC converter failed (exit 101): boom at the file');

    const missing = await orcToParquet('in.orc', 'out.parquet', { binary: join(dir, 'nope') }).catch((e: unknown) => e);
    expect(missing).not.toBeInstanceOf(UnpackError);
    expect((missing as Error).message).toMatch(/could not start \(ENOENT\)/);
  });

  it('passes the stripe limit and returns the row count', async () => {
    const ok = await fakeConverter('ok.sh', 'test "$3" = "--max-stripe-bytes" && test "$4" = "1048576" || exit 64; echo \'{"rows":7}\'');
    expect(await orcToParquet('in.orc', 'out.parquet', { binary: ok, maxStripeBytes: 1048576 })).toEqual({ rows: 7 });
  });
});
