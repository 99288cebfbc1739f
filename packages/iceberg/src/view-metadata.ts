// Iceberg view metadata (format/view-spec.md, format version 1) and the REST spec's view updates and requirements:
// parsed from JSON, checked against a base and applied to it, in the spirit of updates.ts for tables.
import { randomUUID } from 'node:crypto';
import { CommitConflictError, CorruptMetadataError, InvalidInputError } from './errors.js';
import { parseJson, stringifyJson } from './json.js';
import { normalizeLocation } from './metadata.js';
import type { IcebergSchema } from './types.js';
import { bad, changeProperties, isObj, parseSharedUpdate, refuseLocationProperties, schemaOf, str, type Json } from './update-json.js';

export interface ViewRepresentation {
  type: 'sql';
  sql: string;
  dialect: string;
}

export interface ViewVersion {
  'version-id': number;
  'timestamp-ms': number;
  /** -1 in an update: the schema added last in the same commit. */
  'schema-id': number;
  summary: Record<string, string>;
  representations: ViewRepresentation[];
  'default-catalog'?: string;
  'default-namespace': string[];
}

export interface ViewHistoryEntry {
  'timestamp-ms': number;
  'version-id': number;
}

export interface ViewMetadata {
  'view-uuid': string;
  'format-version': 1;
  location: string;
  schemas: IcebergSchema[];
  'current-version-id': number;
  versions: ViewVersion[];
  'version-log': ViewHistoryEntry[];
  properties: Record<string, string>;
}

export type ViewRequirement = { type: 'assert-view-uuid'; uuid: string };

export type ViewUpdate =
  | { action: 'assign-uuid'; uuid: string }
  | { action: 'upgrade-format-version'; 'format-version': number }
  | { action: 'add-schema'; schema: IcebergSchema; 'last-column-id'?: number }
  | { action: 'set-location'; location: string }
  | { action: 'set-properties'; updates: Record<string, string> }
  | { action: 'remove-properties'; removals: string[] }
  | { action: 'add-view-version'; 'view-version': ViewVersion }
  /** -1: the version added last in this commit. */
  | { action: 'set-current-view-version'; 'view-version-id': number };

/** Property that lets a replace drop a dialect the current version has (Iceberg's `replace.drop-dialect.allowed`). */
export const REPLACE_DROP_DIALECT_ALLOWED = 'replace.drop-dialect.allowed';

// ---- parsing ---------------------------------------------------------------------------------------------------

// Unlike updates.ts's `int`, this one also takes a bigint in the safe range; kept apart so neither parser's accepted input changes.
function int(o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`${where}.${key} must be an integer`);
  return v;
}
function stringMap(v: unknown, where: string): Record<string, string> {
  if (!isObj(v)) throw bad(`${where} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw bad(`${where}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

/** A view version from its JSON form (in metadata, a create request or an add-view-version update). */
export function parseViewVersion(v: unknown, where = 'view-version'): ViewVersion {
  if (!isObj(v)) throw bad(`${where} must be an object`);
  const reps = v.representations;
  if (!Array.isArray(reps) || reps.length === 0) throw bad(`${where}.representations must be a non-empty array`);
  const representations = reps.map((r: unknown, i): ViewRepresentation => {
    const rw = `${where}.representations[${i}]`;
    if (!isObj(r)) throw bad(`${rw} must be an object`);
    if (r.type !== 'sql') throw bad(`${rw}.type must be "sql" (the only representation the view spec defines)`);
    return { type: 'sql', sql: str(r, 'sql', rw), dialect: str(r, 'dialect', rw) };
  });
  const dialects = new Set<string>();
  for (const r of representations) {
    const d = r.dialect.toLowerCase();
    if (dialects.has(d)) throw bad(`Invalid view version: Cannot add multiple queries for dialect ${d}`);
    dialects.add(d);
  }
  const ns = v['default-namespace'];
  if (!Array.isArray(ns) || !ns.every((l) => typeof l === 'string')) throw bad(`${where}.default-namespace must be an array of strings`);
  const version: ViewVersion = {
    'version-id': int(v, 'version-id', where),
    'timestamp-ms': int(v, 'timestamp-ms', where),
    'schema-id': int(v, 'schema-id', where),
    summary: v.summary === undefined || v.summary === null ? {} : stringMap(v.summary, `${where}.summary`),
    representations,
    'default-namespace': [...ns] as string[],
  };
  const catalog = v['default-catalog'];
  if (catalog !== undefined && catalog !== null) {
    if (typeof catalog !== 'string') throw bad(`${where}.default-catalog must be a string`);
    version['default-catalog'] = catalog;
  }
  return version;
}

export function parseViewRequirement(json: unknown, where = 'requirement'): ViewRequirement {
  if (!isObj(json)) throw bad(`${where} must be an object`);
  const type = str(json, 'type', where);
  if (type !== 'assert-view-uuid') throw bad(`${where}: unsupported view requirement type ${JSON.stringify(type)}`);
  return { type, uuid: str(json, 'uuid', where) };
}

export function parseViewUpdate(json: unknown, where = 'update'): ViewUpdate {
  if (!isObj(json)) throw bad(`${where} must be an object`);
  const action = str(json, 'action', where);
  const shared = parseSharedUpdate(json, action, where);
  if (shared) return shared;
  switch (action) {
    case 'upgrade-format-version':
      return { action, 'format-version': int(json, 'format-version', where) };
    case 'set-properties':
      return { action, updates: stringMap(json.updates, `${where}.updates`) };
    case 'add-view-version':
      return { action, 'view-version': parseViewVersion(json['view-version'], `${where}.view-version`) };
    case 'set-current-view-version':
      return { action, 'view-version-id': int(json, 'view-version-id', where) };
    default:
      throw bad(`${where}: unsupported view update action ${JSON.stringify(action)}`);
  }
}

/** Reads a view metadata file strictly: anything the spec requires and is missing or inconsistent is corrupt. */
export function parseViewMetadata(bytes: Uint8Array | string, location: string): ViewMetadata {
  const corrupt = (problem: string): CorruptMetadataError => new CorruptMetadataError(location, problem);
  let json: unknown;
  try {
    json = parseJson(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new CorruptMetadataError(location, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (!isObj(json)) throw bad('expected an object');
    if (json['format-version'] !== 1) throw bad(`format-version ${String(json['format-version'])} is not supported (view format version 1)`);
    if (!Array.isArray(json.schemas) || json.schemas.length === 0) throw bad('schemas must be a non-empty array');
    if (!Array.isArray(json.versions) || json.versions.length === 0) throw bad('versions must be a non-empty array');
    if (!Array.isArray(json['version-log'])) throw bad('version-log must be an array');
    const metadata: ViewMetadata = {
      'view-uuid': str(json, 'view-uuid', 'view metadata'),
      'format-version': 1,
      location: str(json, 'location', 'view metadata'),
      schemas: json.schemas.map((s, i) => schemaOf(s, `schemas[${i}]`)),
      'current-version-id': int(json, 'current-version-id', 'view metadata'),
      versions: json.versions.map((v, i) => parseViewVersion(v, `versions[${i}]`)),
      'version-log': json['version-log'].map((e: unknown, i) => {
        if (!isObj(e)) throw bad(`version-log[${i}] must be an object`);
        return { 'timestamp-ms': int(e, 'timestamp-ms', `version-log[${i}]`), 'version-id': int(e, 'version-id', `version-log[${i}]`) };
      }),
      properties: json.properties === undefined ? {} : stringMap(json.properties, 'properties'),
    };
    checkViewMetadata(metadata);
    return metadata;
  } catch (err) {
    if (err instanceof InvalidInputError) throw corrupt(err.message);
    throw err;
  }
}

/** The invariants of a view: the current version exists, every version's schema exists, ids are unique. */
function checkViewMetadata(m: ViewMetadata): void {
  const schemaIds = new Set(m.schemas.map((s) => s['schema-id']));
  if (schemaIds.size !== m.schemas.length) throw bad('schema ids must be unique');
  const versionIds = new Set(m.versions.map((v) => v['version-id']));
  if (versionIds.size !== m.versions.length) throw bad('view version ids must be unique');
  if (!versionIds.has(m['current-version-id'])) throw bad(`current-version-id ${m['current-version-id']} is not one of the versions`);
  for (const v of m.versions) {
    if (!schemaIds.has(v['schema-id'])) throw bad(`view version ${v['version-id']} names schema ${v['schema-id']}, which does not exist`);
  }
}

export function viewMetadataToJson(m: ViewMetadata): Record<string, unknown> {
  return {
    'view-uuid': m['view-uuid'],
    'format-version': m['format-version'],
    location: m.location,
    schemas: m.schemas,
    'current-version-id': m['current-version-id'],
    versions: m.versions,
    'version-log': m['version-log'],
    properties: m.properties,
  };
}

export function serializeViewMetadata(m: ViewMetadata): string {
  return stringifyJson(viewMetadataToJson(m), 2);
}

export function currentViewVersion(m: ViewMetadata): ViewVersion {
  const v = m.versions.find((x) => x['version-id'] === m['current-version-id']);
  if (!v) throw new CorruptMetadataError(m.location, `current-version-id ${m['current-version-id']} is not one of the versions`);
  return v;
}

// ---- building and changing views -------------------------------------------------------------------------------

/** Properties that would move a view's metadata out of its location (the catalog keeps files under it). */
function checkViewProperties(properties: Record<string, string>): void {
  refuseLocationProperties(properties, "a view's metadata stays under its location");
}

/** The metadata of a new view: its one schema becomes id 0 and its first version id 1, as the reference catalog numbers them. */
export function newViewMetadata(opts: { location: string; schema: IcebergSchema; version: ViewVersion; properties?: Record<string, string>; nowMs?: number }): ViewMetadata {
  const base: ViewMetadata = {
    'view-uuid': randomUUID(),
    'format-version': 1,
    location: normalizeLocation(opts.location),
    schemas: [],
    'current-version-id': -1,
    versions: [],
    'version-log': [],
    properties: {},
  };
  return applyViewUpdates(
    base,
    [
      { action: 'add-schema', schema: opts.schema },
      { action: 'set-properties', updates: opts.properties ?? {} },
      { action: 'add-view-version', 'view-version': { ...opts.version, 'schema-id': -1 } },
      { action: 'set-current-view-version', 'view-version-id': -1 },
    ],
    { nowMs: opts.nowMs, creating: true },
  );
}

/** Null when every requirement holds for `base`, else why not, in the reference implementation's words. */
export function failedViewRequirement(base: ViewMetadata, requirements: readonly ViewRequirement[]): string | null {
  for (const r of requirements) {
    if (r.uuid !== base['view-uuid']) return `Requirement failed: view UUID does not match: expected ${base['view-uuid']} != ${r.uuid}`;
  }
  return null;
}

const sameFields = (a: IcebergSchema, b: IcebergSchema): boolean =>
  JSON.stringify(a.fields) === JSON.stringify(b.fields) && JSON.stringify(a['identifier-field-ids'] ?? []) === JSON.stringify(b['identifier-field-ids'] ?? []);

/** Two versions say the same thing when all but their id, timestamp and summary agree (the reference's rule). */
const sameVersion = (a: ViewVersion, b: ViewVersion): boolean =>
  a['schema-id'] === b['schema-id'] &&
  (a['default-catalog'] ?? null) === (b['default-catalog'] ?? null) &&
  JSON.stringify(a['default-namespace']) === JSON.stringify(b['default-namespace']) &&
  JSON.stringify(a.representations) === JSON.stringify(b.representations);

/**
 * Applies `updates` to `base` (untouched) and returns the new metadata. Schema and version ids are the catalog's: an
 * added schema or version identical to an existing one reuses its id, a new one gets the next id (so a client that
 * built its version on a stale base still lands as the next version); -1 names the one added last in this commit.
 * Moving the view (set-location elsewhere), re-identifying it, or another format version is refused.
 */
export function applyViewUpdates(base: ViewMetadata, updates: readonly ViewUpdate[], opts: { nowMs?: number | undefined; creating?: boolean } = {}): ViewMetadata {
  const m: ViewMetadata = structuredClone(base);
  const nowMs = opts.nowMs ?? Date.now();
  let lastSchemaId: number | undefined;
  let lastVersionId: number | undefined;
  const previous = opts.creating ? undefined : currentViewVersion(base);
  for (const u of updates) {
    switch (u.action) {
      case 'assign-uuid':
        if (u.uuid !== m['view-uuid']) throw bad('a view keeps its uuid; assign-uuid may only repeat it');
        break;
      case 'upgrade-format-version':
        if (u['format-version'] !== 1) throw bad(`view format version ${u['format-version']} is not supported; views are format version 1`);
        break;
      case 'set-location':
        if (normalizeLocation(u.location) !== m.location) throw bad(`the catalog decides where views live; set-location cannot move this view from ${m.location}`);
        break;
      case 'set-properties':
      case 'remove-properties':
        changeProperties(m.properties, u, checkViewProperties);
        break;
      case 'add-schema': {
        const same = m.schemas.find((s) => sameFields(s, u.schema));
        if (same) {
          lastSchemaId = same['schema-id'];
          break;
        }
        const id = m.schemas.length === 0 ? 0 : Math.max(...m.schemas.map((s) => s['schema-id'])) + 1;
        m.schemas.push({ ...u.schema, 'schema-id': id });
        lastSchemaId = id;
        break;
      }
      case 'add-view-version': {
        let schemaId = u['view-version']['schema-id'];
        if (schemaId === -1) {
          if (lastSchemaId === undefined) throw bad('add-view-version with schema-id -1 needs an add-schema before it');
          schemaId = lastSchemaId;
        }
        if (!m.schemas.some((s) => s['schema-id'] === schemaId)) throw bad(`view version names schema ${schemaId}, which does not exist`);
        const version: ViewVersion = { ...u['view-version'], 'schema-id': schemaId };
        const same = m.versions.find((v) => sameVersion(v, version));
        if (same) {
          lastVersionId = same['version-id'];
          break;
        }
        const id = m.versions.length === 0 ? 1 : Math.max(...m.versions.map((v) => v['version-id'])) + 1;
        m.versions.push({ ...version, 'version-id': id });
        lastVersionId = id;
        break;
      }
      case 'set-current-view-version': {
        let id = u['view-version-id'];
        if (id === -1) {
          if (lastVersionId === undefined) throw bad('set-current-view-version -1 needs an add-view-version before it');
          id = lastVersionId;
        }
        const version = m.versions.find((v) => v['version-id'] === id);
        if (!version) throw bad(`view version ${id} does not exist`);
        if (id !== m['current-version-id']) {
          m['current-version-id'] = id;
          m['version-log'].push({ 'timestamp-ms': Math.max(version['timestamp-ms'], nowMs), 'version-id': id });
        }
        break;
      }
    }
  }
  if (m.versions.length === 0 || m.schemas.length === 0) throw bad('a view needs a schema and a version');
  const current = currentViewVersion(m);
  if (previous && current['version-id'] !== previous['version-id'] && m.properties[REPLACE_DROP_DIALECT_ALLOWED] !== 'true') {
    // A replace that loses an engine's SQL breaks that engine's readers; the reference refuses it unless allowed.
    const kept = new Set(current.representations.map((r) => r.dialect.toLowerCase()));
    const lost = previous.representations.map((r) => r.dialect.toLowerCase()).filter((d) => !kept.has(d));
    if (lost.length > 0) {
      throw bad(`Cannot replace view due to loss of view dialects (${REPLACE_DROP_DIALECT_ALLOWED}=false): previous dialects ${[...previous.representations.map((r) => r.dialect)].join(', ')}, new dialects ${[...kept].join(', ')}`);
    }
  }
  checkViewMetadata(m);
  return m;
}

/** Conflict helper for the commit loop: a view replaced under the same name (another uuid) cannot be committed to. */
export function viewReplacedError(name: string, before: string, after: string): CommitConflictError {
  return new CommitConflictError(`view ${name} was replaced while committing (uuid ${before} → ${after})`);
}
