// ORC → Parquet for the strict Parquet reader, by Atoll's converter binary (packages/bulk/orc-to-parquet, Rust on
// datafusion-contrib's orc-rust + arrow-rs parquet). Why a child process: DuckDB has no ORC extension here (and none
// may be fetched at run time), npm has no maintained ORC reader, and Apache ORC's own Java tools cost a JVM start per
// file (~1.4 s measured) and their `data` printer writes timestamps in the JVM's zone without an offset. The binary
// starts in milliseconds, streams stripe by stripe and keeps each value's exact type (docs/bulk-ingest.md).
import { spawn } from 'node:child_process';
import { UnpackError } from './unpack.js';

export interface OrcConverter {
  /** The converter binary (ATOLL_ORC_CONVERTER); built by the stack's installer, shipped in the writer image. */
  binary: string;
  /** Stripes larger than this are refused: the reader holds one stripe's streams in memory. */
  maxStripeBytes?: number;
}

/** Exit code of a rejection: stderr is then the reason for the ingest report. */
const REJECTED = 2;
const MAX_REASON = 300;

/**
 * A converter's stderr line as a report reason: one line, bounded, and with anything that looks like a local path
 * removed (the converter never prints values or paths; this is the second fence).
 */
export function orcReason(stderr: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  const clean = line.replace(/(?:^|(?<=[\s'"(]))\/[^\s'")]+/g, 'the file').slice(0, MAX_REASON);
  if (clean === '') return 'not a readable ORC file';
  return clean;
}

/** The `{"rows":N}` the converter prints on success. */
export function parseConverterOutput(stdout: string): { rows: number } {
  const parsed = JSON.parse(stdout.trim()) as { rows?: unknown };
  if (typeof parsed.rows !== 'number' || !Number.isSafeInteger(parsed.rows) || parsed.rows < 0) throw new Error('the ORC converter printed no row count');
  return { rows: parsed.rows };
}

/**
 * Converts `input` (ORC) into `output` (Parquet). Throws UnpackError with the reason for a file that can never load;
 * any other failure (the binary missing, killed, out of memory) is an ordinary error, so the job retries.
 */
export async function orcToParquet(input: string, output: string, converter: OrcConverter): Promise<{ rows: number }> {
  const args = [input, output];
  if (converter.maxStripeBytes !== undefined) args.push('--max-stripe-bytes', String(converter.maxStripeBytes));
  const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(converter.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4096)));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4096)));
    child.on('error', (e) => reject(new Error(`the ORC converter could not start (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
    child.on('close', (c, s) => resolve({ code: c, signal: s, stdout: out, stderr: err }));
  });
  if (code === REJECTED) throw new UnpackError(orcReason(stderr));
  if (code !== 0) throw new Error(`the ORC converter failed (${signal ?? `exit ${code}`}): ${orcReason(stderr)}`);
  return parseConverterOutput(stdout);
}
