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
/** Once spilled, normalised lines are written to the file in pieces of about this size. */
const SPILL_PIECE = 64 * 1024;

/**
 * Where an upload's normalised records go: memory while they stay under MEMORY_THRESHOLD, then a local NDJSON file
 * with bounded memory. `add` is synchronous (no promise per record); callers `await flush()` whenever `add` says so.
 */
class RecordSink {
  count = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private out: WriteStream | null = null;
  constructor(
    private readonly path: string,
    private readonly limits: ReceiveLimits,
  ) {}

  /** Counts and keeps one record; true when the caller must `await flush()` before adding more. */
  add(record: NormalizedRecord): boolean {
    this.count += 1;
    if (this.count > this.limits.maxRecords) throw new AtollError('PAYLOAD_TOO_LARGE', `an upload may hold at most ${this.limits.maxRecords} records`);
    const line = `${JSON.stringify(record)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    return this.pendingBytes > (this.out ? SPILL_PIECE : MEMORY_THRESHOLD);
  }

  /** Spills to the file once over the threshold (from then on the upload streams to it), and writes what is pending. */
  async flush(): Promise<void> {
    if (!this.out) {
      if (this.pendingBytes <= MEMORY_THRESHOLD) return;
      await mkdir(dirname(this.path), { recursive: true });
      this.out = createWriteStream(this.path, { flags: 'wx', mode: 0o600 });
    }
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  /** What was received: in memory when it never spilled; else flushed and closed, in the file. */
  async finish(): Promise<{ count: number; buffer?: Buffer }> {
    if (!this.out) return { count: this.count, buffer: Buffer.from(this.pending.join(''), 'utf8') };
    await this.flush();
    await this.close();
    return { count: this.count };
  }

  /** Closes the spill file, if any (also after an error: the route removes the file). */
  async close(): Promise<void> {
    const out = this.out;
    if (!out || out.closed) return;
    out.end();
    await once(out, 'close');
  }
}

/**
 * NDJSON bytes to validated records, one chunk at a time and synchronously: chunks may end anywhere (inside a line or a
 * multi-byte character). Errors name the 1-based line.
 */
class NdjsonParser {
  bytes = 0;
  private line = 0;
  private buffered = '';
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  constructor(
    private readonly validate: RecordValidator,
    private readonly limits: ReceiveLimits,
    private readonly sink: RecordSink,
  ) {}

  /** Takes one chunk; true when the sink wants a flush. */
  push(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > this.limits.maxBytes) throw new AtollError('PAYLOAD_TOO_LARGE', `an upload may be at most ${this.limits.maxBytes} bytes`);
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new AtollError('MALFORMED_NDJSON', `line ${this.line + 1}: the body is not valid UTF-8`);
    }
    let flush = false;
    let from = 0;
    let buffered = this.buffered;
    // The common case (the previous chunk ended a line): lines are cut from this chunk's text, not from a growing string.
    if (buffered === '') {
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        flush = this.handle(text.slice(from, nl)) || flush;
        from = nl + 1;
      }
      buffered = text.slice(from);
    } else {
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        flush = this.handle(buffered.slice(0, nl)) || flush;
        buffered = buffered.slice(nl + 1);
      }
    }
    this.buffered = buffered;
    if (buffered.length > 1024 * 1024) throw new AtollError('MALFORMED_NDJSON', `line ${this.line + 1}: a line is longer than 1 MiB`);
    return flush;
  }

  /** The body ended: its last line needs no newline, and a character cut off at the very end is refused, not dropped. */
  end(): boolean {
    let rest: string;
    try {
      rest = this.decoder.decode();
    } catch {
      throw new AtollError('MALFORMED_NDJSON', `line ${this.line + 1}: the body is not valid UTF-8 (it ends inside a character)`);
    }
    const last = this.buffered + rest;
    return last.trim() !== '' ? this.handle(last) : false;
  }

  private handle(text: string): boolean {
    this.line += 1;
    const trimmed = text.trim();
    if (trimmed === '') return false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new AtollError('MALFORMED_NDJSON', `line ${this.line}: ${(e as Error).message}`, { details: { line: this.line } });
    }
    return this.sink.add(this.validate(parsed, this.line));
  }
}

/**
 * Reads a body that ends within `max` bytes with plain stream events — a 1-record device upload arrives in one chunk,
 * and an async iterator over it cost more than the record. Resolves with the chunks and whether the body ended; past
 * `max` it stops early and leaves the stream paused for the caller to read on.
 */
function readUpTo(body: Readable, max: number): Promise<{ chunks: Buffer[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) {
        body.pause();
        stop();
        resolve({ chunks, ended: false });
      }
    };
    const onEnd = () => {
      stop();
      resolve({ chunks, ended: true });
    };
    const onError = (e: Error) => {
      stop();
      reject(e);
    };
    // Closed before its end (the client went away): the same error an async iterator gives.
    const onClose = () => {
      stop();
      reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    if (body.readableEnded) return resolve({ chunks, ended: true });
    if (body.errored) return reject(body.errored);
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

export async function receiveNdjson(body: Readable, validate: RecordValidator, limits: ReceiveLimits, path: string): Promise<Received> {
  const sink = new RecordSink(path, limits);
  const parser = new NdjsonParser(validate, limits, sink);
  try {
    const first = await readUpTo(body, MEMORY_THRESHOLD);
    for (const chunk of first.chunks) if (parser.push(chunk)) await sink.flush();
    // A large body streams on from where the first read stopped.
    if (!first.ended) for await (const chunk of body) if (parser.push(chunk as Buffer)) await sink.flush();
    if (parser.end()) await sink.flush();
    const { count, buffer } = await sink.finish();
    return { records: count, bytes: parser.bytes, ...(buffer ? { buffer } : {}) };
  } finally {
    await sink.close();
  }
}

export async function receiveJsonArray(body: unknown, validate: RecordValidator, limits: ReceiveLimits, path: string, bytes: number): Promise<Received> {
  if (!Array.isArray(body)) throw new AtollError('MALFORMED_JSON', 'a JSON upload must be an array of records');
  const sink = new RecordSink(path, limits);
  try {
    for (let i = 0; i < body.length; i += 1) if (sink.add(validate(body[i], i + 1))) await sink.flush();
    const { count, buffer } = await sink.finish();
    return { records: count, bytes, ...(buffer ? { buffer } : {}) };
  } finally {
    await sink.close();
  }
}
