// Receives an upload body (NDJSON stream or JSON array), validates every record, and writes the normalised records
// to a local NDJSON file, with bounded memory and size limits. Nothing reaches staging unless all of it is valid.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { AtollError } from '@atoll/errors';
import type { ColumnSpec } from '../schemas.js';
import { validateRecord, type NormalizedRecord } from './records.js';

export interface ReceiveLimits {
  maxBytes: number;
  maxRecords: number;
}

export interface Received {
  records: number;
  bytes: number;
}

async function writeAll(path: string, records: AsyncIterable<NormalizedRecord> | Iterable<NormalizedRecord>, limits: ReceiveLimits): Promise<number> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  let count = 0;
  try {
    for await (const record of records) {
      count += 1;
      if (count > limits.maxRecords) throw new AtollError('PAYLOAD_TOO_LARGE', `an upload may hold at most ${limits.maxRecords} records`);
      if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return count;
}

async function* ndjsonRecords(body: Readable, columns: readonly ColumnSpec[], limits: ReceiveLimits, counter: { bytes: number }): AsyncGenerator<NormalizedRecord> {
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
    yield validateRecord(columns, parsed, line);
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

export async function receiveNdjson(body: Readable, columns: readonly ColumnSpec[], limits: ReceiveLimits, path: string): Promise<Received> {
  const counter = { bytes: 0 };
  const records = await writeAll(path, ndjsonRecords(body, columns, limits, counter), limits);
  return { records, bytes: counter.bytes };
}

export async function receiveJsonArray(body: unknown, columns: readonly ColumnSpec[], limits: ReceiveLimits, path: string, bytes: number): Promise<Received> {
  if (!Array.isArray(body)) throw new AtollError('MALFORMED_JSON', 'a JSON upload must be an array of records');
  const records = await writeAll(
    path,
    (function* () {
      for (let i = 0; i < body.length; i += 1) yield validateRecord(columns, body[i], i + 1);
    })(),
    limits,
  );
  return { records, bytes };
}
