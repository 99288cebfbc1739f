// What a staged object is, from its key alone: `<providerId>/<table>/<name>[.gz|.bz2|.zip]` (SPEC §4).
export type BulkFormat = 'csv' | 'parquet' | 'avro' | 'orc';
export type BulkCompression = 'gzip' | 'bzip2' | 'zip';

export type StagedObject =
  /** Not a provider's bulk file at all (api uploads under `_api/`, folder markers): ignored. */
  | { kind: 'ignored' }
  /** A provider's file that cannot be ingested; recorded as rejected with `reason` (table '' when outside a folder). */
  | { kind: 'rejected'; providerId: string; table: string; reason: string }
  /** A file to ingest; `format` is undefined for a .zip whose inner entry decides it. */
  | { kind: 'file'; providerId: string; table: string; format: BulkFormat | undefined; compression: BulkCompression | undefined };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// The table identifier rule of the schema API (apps/api/src/schemas.ts Identifier).
const TABLE = /^[a-z][a-z0-9_]{0,62}$/;

const FORMATS: Record<string, BulkFormat> = { csv: 'csv', parquet: 'parquet', pq: 'parquet', avro: 'avro', orc: 'orc' };
const COMPRESSIONS: Record<string, BulkCompression> = { gz: 'gzip', gzip: 'gzip', bz2: 'bzip2', zip: 'zip' };

/** The format of a file name (after its compression suffix is taken off), or undefined. */
export function formatOf(name: string): BulkFormat | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return ext ? FORMATS[ext] : undefined;
}

export function classifyStagedKey(key: string): StagedObject {
  const parts = key.split('/');
  const providerId = parts[0] ?? '';
  if (!UUID.test(providerId) || key.endsWith('/')) return { kind: 'ignored' };
  if (parts.length < 3) return { kind: 'rejected', providerId, table: '', reason: `${key.slice(providerId.length + 1)} is outside a table folder: put files under ${providerId}/<table>/` };
  const table = parts[1]!;
  if (!TABLE.test(table)) return { kind: 'rejected', providerId, table: table.slice(0, 63), reason: `"${table.slice(0, 63)}" is not a table name` };
  let name = parts[parts.length - 1]!;
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  const compression = ext ? COMPRESSIONS[ext] : undefined;
  if (compression) name = name.slice(0, -(ext!.length + 1));
  const format = formatOf(name);
  if (!format && compression !== 'zip') {
    return { kind: 'rejected', providerId, table, reason: `unsupported file type: name files .csv, .parquet, .avro or .orc, optionally .gz, .bz2 or .zip` };
  }
  return { kind: 'file', providerId, table, format, compression };
}

/** MinIO bucket-notification records (S3 event format) → bucket, decoded key, size and ETag of each created object. */
export interface AnnouncedObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
}

export function normalizeEtag(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/**
 * Parses one entry of MinIO's Redis notification target in `access` format (`[{"Event":[…records], "EventTime":…}]`),
 * or a bare S3 event document (`{"Records":[…]}`). Unknown shapes give nothing: the reconciler covers them.
 */
export function parseNotification(text: string): AnnouncedObject[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const records: unknown[] = [];
  const collect = (d: unknown): void => {
    if (Array.isArray(d)) d.forEach(collect);
    else if (d && typeof d === 'object') {
      const o = d as Record<string, unknown>;
      if (Array.isArray(o.Event)) records.push(...(o.Event as unknown[]));
      else if (Array.isArray(o.Records)) records.push(...(o.Records as unknown[]));
    }
  };
  collect(doc);
  const out: AnnouncedObject[] = [];
  for (const r of records) {
    const rec = r as { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string } } };
    if (!rec.eventName?.startsWith('s3:ObjectCreated:')) continue;
    const bucket = rec.s3?.bucket?.name;
    const rawKey = rec.s3?.object?.key;
    const etag = rec.s3?.object?.eTag;
    if (!bucket || !rawKey || !etag) continue;
    let key: string;
    try {
      // S3 event keys are form-encoded (a space is "+").
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    } catch {
      continue;
    }
    out.push({ bucket, key, size: rec.s3?.object?.size ?? 0, etag: normalizeEtag(etag) });
  }
  return out;
}
