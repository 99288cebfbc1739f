// Receives an upload body (NDJSON stream or JSON array), validates every record, and writes the normalised records
// to memory (small uploads) or a local NDJSON file, with bounded memory and size limits. Nothing reaches staging unless all of it is valid.
// NDJSON is streamed line by line; a JSON array is parsed whole by Fastify, so its memory is bounded by the route's
// bodyLimit (ATOLL_MAX_UPLOAD_BYTES) — the one streaming JSON parser in node_modules (stream-json) is only a transitive
// dependency of the MinIO client, and large or steady uploads belong in NDJSON or the S3 bulk path anyway.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { AtollError } from '@atoll/errors';
import type { ColumnSpec } from '../schemas.js';
import { validateRecord, type NormalizedRecord } from './records.js';

/** Validates one parsed record (1-based `line`) and returns what is staged. */
export type RecordValidator = (record: unknown, line: number) => NormalizedRecord;

/**
 * The validator of an upload: the table's schema, or — for a device upload — the schema without its user_id column,
 * which the server fills with the device's user id (records must not carry it: the subject comes from the token).
 */
export function recordValidator(columns: readonly ColumnSpec[], subject?: { userId: string }): RecordValidator {
  if (!subject) return (record, line) => validateRecord(columns, record, line);
  const userIdColumn = columns.find((c) => c.role === 'user_id');
  if (!userIdColumn) throw new AtollError('BAD_REQUEST', 'this table has no user_id column to carry the device subject');
  const others = columns.filter((c) => c !== userIdColumn);
  return (record, line) => {
    if (record !== null && typeof record === 'object' && !Array.isArray(record) && Object.hasOwn(record, userIdColumn.name)) {
      throw new AtollError('SCHEMA_VIOLATION', `line ${line}: ${userIdColumn.name} is filled by the server from the device token; records must not carry it`, { details: { line } });
    }
    return { [userIdColumn.name]: subject.userId, ...validateRecord(others, record, line) };
  };
}

export interface ReceiveLimits {
  maxBytes: number;
  maxRecords: number;
}

export interface Received {
  records: number;
  bytes: number;
  /** The normalised NDJSON when it stayed under the in-memory threshold; otherwise it is in the spill file. */
  buffer?: Buffer;
}

/** Small uploads (the common device case) stay in memory: a temp file per request costs more than the records. */
const MEMORY_THRESHOLD = 256 * 1024;

async function writeAll(path: string, records: AsyncIterable<NormalizedRecord> | Iterable<NormalizedRecord>, limits: ReceiveLimits): Promise<{ count: number; buffer?: Buffer }> {
  let pending: string[] = [];
  let pendingBytes = 0;
  let out: WriteStream | null = null;
  let count = 0;
  try {
    for await (const record of records) {
      count += 1;
      if (count > limits.maxRecords) throw new AtollError('PAYLOAD_TOO_LARGE', `an upload may hold at most ${limits.maxRecords} records`);
      const line = `${JSON.stringify(record)}\n`;
      if (!out) {
        pending.push(line);
        pendingBytes += line.length;
        if (pendingBytes <= MEMORY_THRESHOLD) continue;
        // Spill: from here on the upload streams to its file with bounded memory.
        await mkdir(dirname(path), { recursive: true });
        out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
        const head = pending.join('');
        pending = [];
        if (!out.write(head)) await once(out, 'drain');
        continue;
      }
      if (!out.write(line)) await once(out, 'drain');
    }
  } finally {
    if (out) {
      out.end();
      await once(out, 'close');
    }
  }
  return out ? { count } : { count, buffer: Buffer.from(pending.join(''), 'utf8') };
}

async function* ndjsonRecords(body: Readable, validate: RecordValidator, limits: ReceiveLimits, counter: { bytes: number }): AsyncGenerator<NormalizedRecord> {
  let buffered = '';
  let line = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const handle = function* (text: string): Generator<NormalizedRecord> {
    line += 1;
    const trimmed = text.trim();
    if (trimmed === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new AtollError('MALFORMED_NDJSON', `line ${line}: ${(e as Error).message}`, { details: { line } });
    }
    yield validate(parsed, line);
  };
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    counter.bytes += bytes.length;
    if (counter.bytes > limits.maxBytes) throw new AtollError('PAYLOAD_TOO_LARGE', `an upload may be at most ${limits.maxBytes} bytes`);
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      throw new AtollError('MALFORMED_NDJSON', `line ${line + 1}: the body is not valid UTF-8`);
    }
    buffered += text;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      yield* handle(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
    if (buffered.length > 1024 * 1024) throw new AtollError('MALFORMED_NDJSON', `line ${line + 1}: a line is longer than 1 MiB`);
  }
  if (buffered.trim() !== '') yield* handle(buffered);
}

export async function receiveNdjson(body: Readable, validate: RecordValidator, limits: ReceiveLimits, path: string): Promise<Received> {
  const counter = { bytes: 0 };
  const { count, buffer } = await writeAll(path, ndjsonRecords(body, validate, limits, counter), limits);
  return { records: count, bytes: counter.bytes, ...(buffer ? { buffer } : {}) };
}

export async function receiveJsonArray(body: unknown, validate: RecordValidator, limits: ReceiveLimits, path: string, bytes: number): Promise<Received> {
  if (!Array.isArray(body)) throw new AtollError('MALFORMED_JSON', 'a JSON upload must be an array of records');
  const { count, buffer } = await writeAll(
    path,
    (function* () {
      for (let i = 0; i < body.length; i += 1) yield validate(body[i], i + 1);
    })(),
    limits,
  );
  return { records: count, bytes, ...(buffer ? { buffer } : {}) };
}
