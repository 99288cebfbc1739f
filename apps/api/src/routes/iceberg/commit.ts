// Table commits of the REST catalog: requirements checked against the current metadata, updates applied to it, then
// the same compare-and-swap of the Postgres pointer that @atoll/iceberg's writers use — so REST clients and Atoll's own
// writers serialize on one pointer and never drop each other's snapshots. Requirements are re-checked on every retry.
import {
  currentSchema,
  isObjectAlreadyExists,
  loadTable,
  metadataVersion,
  parseSchema,
  parseTableMetadata,
  serializeTableMetadata,
  snapshotById,
  writeVersionHint,
  type CatalogStore,
  type IcebergSchema,
  type LoadedTable,
  type NestedField,
  type ObjectIO,
  type Snapshot,
  type SnapshotRef,
  type TableIdentifier,
  type TableMetadata,
} from '@atoll/iceberg';
import { parsePartitionSpecJson } from './partition-spec.js';
import { badRequest, commitFailed } from './errors.js';

const MAX_ATTEMPTS = 30;
// Version numbers to skip past when v<N+1> exists but was never committed (a lost attempt's leftover).
const MAX_VERSION_PROBES = 16;
const PREVIOUS_VERSIONS_MAX_PROPERTY = 'write.metadata.previous-versions-max';
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

type Json = Record<string, unknown>;

/**
 * Properties that would move files out of the table's prefix: vended credentials could not follow, and Atoll's own
 * writers (whose key reaches the whole lake) would write into another table's directory.
 */
export const LOCATION_PROPERTIES = ['write.data.path', 'write.metadata.path', 'write.object-storage.path', 'write.folder-storage.path'];

export function checkProperties(properties: Record<string, unknown>): void {
  const bad = Object.keys(properties).filter((k) => LOCATION_PROPERTIES.includes(k));
  if (bad.length > 0) throw badRequest(`properties ${bad.join(', ')} cannot be set: a table's files stay under its location`);
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw badRequest(`${where}.${key} must be a string`);
  return v;
}
function int(o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${where}.${key} must be an integer`);
  return v;
}
function long(v: unknown, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw badRequest(`${where} must be a long`);
}

/** The body of POST …/tables/{table}, shape-checked (TypeBox cannot type 64-bit ids, which arrive as bigint). */
export interface CommitRequest {
  requirements: Json[];
  updates: Json[];
}

export function parseCommitRequest(body: unknown): CommitRequest {
  if (!isObj(body)) throw badRequest('the commit body must be an object');
  const requirements = body.requirements ?? [];
  const updates = body.updates;
  if (!Array.isArray(requirements) || !requirements.every(isObj)) throw badRequest('requirements must be an array of objects');
  if (!Array.isArray(updates) || !updates.every(isObj)) throw badRequest('updates must be an array of objects');
  for (const [i, r] of requirements.entries()) str(r, 'type', `requirements[${i}]`);
  for (const [i, u] of updates.entries()) str(u, 'action', `updates[${i}]`);
  return { requirements, updates };
}

/** Null when every requirement holds for `base`, else why not (→ 409 CommitFailedException). */
export function failedRequirement(base: TableMetadata, requirements: Json[]): string | null {
  for (const [i, r] of requirements.entries()) {
    const where = `requirements[${i}]`;
    const type = r.type;
    switch (type) {
      case 'assert-create':
        return 'the table already exists';
      case 'assert-table-uuid':
        if (str(r, 'uuid', where) !== base['table-uuid']) return `table uuid is ${base['table-uuid']}, not ${String(r.uuid)}`;
        break;
      case 'assert-ref-snapshot-id': {
        const ref = str(r, 'ref', where);
        const expected = r['snapshot-id'] === null || r['snapshot-id'] === undefined ? null : long(r['snapshot-id'], `${where}.snapshot-id`);
        const actual = base.refs[ref]?.['snapshot-id'] ?? null;
        if (expected !== actual) {
          return expected === null ? `ref ${ref} was created concurrently (now ${actual})` : `ref ${ref} points at snapshot ${actual ?? 'none'}, not ${expected}`;
        }
        break;
      }
      case 'assert-last-assigned-field-id':
        if (int(r, 'last-assigned-field-id', where) !== base['last-column-id']) return `last assigned field id is ${base['last-column-id']}, not ${String(r['last-assigned-field-id'])}`;
        break;
      case 'assert-current-schema-id':
        if (int(r, 'current-schema-id', where) !== base['current-schema-id']) return `current schema id is ${base['current-schema-id']}, not ${String(r['current-schema-id'])}`;
        break;
      case 'assert-last-assigned-partition-id':
        if (int(r, 'last-assigned-partition-id', where) !== base['last-partition-id']) return `last assigned partition id is ${base['last-partition-id']}, not ${String(r['last-assigned-partition-id'])}`;
        break;
      case 'assert-default-spec-id':
        if (int(r, 'default-spec-id', where) !== base['default-spec-id']) return `default spec id is ${base['default-spec-id']}, not ${String(r['default-spec-id'])}`;
        break;
      case 'assert-default-sort-order-id':
        if (int(r, 'default-sort-order-id', where) !== base['default-sort-order-id']) return `default sort order id is ${base['default-sort-order-id']}, not ${String(r['default-sort-order-id'])}`;
        break;
      default:
        throw badRequest(`${where}: unsupported requirement type ${JSON.stringify(type)}`);
    }
  }
  return null;
}

// ---- schema evolution: only changes that never need a data rewrite ---------------------------------------------

function fieldsById(fields: NestedField[], out = new Map<number, NestedField>()): Map<number, NestedField> {
  for (const f of fields) {
    out.set(f.id, f);
    if (typeof f.type !== 'string' && f.type.type === 'struct') fieldsById(f.type.fields, out);
  }
  return out;
}

/** Spec "Schema Evolution": int→long, float→double, decimal(P,S)→decimal(P',S) with P' ≥ P. */
function isAllowedPromotion(from: string, to: string): boolean {
  if (from === to) return true;
  if (from === 'int' && to === 'long') return true;
  if (from === 'float' && to === 'double') return true;
  const a = /^decimal\((\d+),\s*(\d+)\)$/.exec(from);
  const b = /^decimal\((\d+),\s*(\d+)\)$/.exec(to);
  return !!a && !!b && a[2] === b[2] && Number(b[1]) >= Number(a[1]);
}

export function checkSchemaEvolution(from: IcebergSchema, to: IcebergSchema): void {
  const before = fieldsById(from.fields);
  for (const [id, field] of fieldsById(to.fields)) {
    const old = before.get(id);
    if (!old) {
      if (field.required) throw badRequest(`new field ${field.name} (id ${id}) must be optional: existing rows have no value for it`);
      continue;
    }
    const [a, b] = [old.type, field.type];
    if (typeof a === 'string' && typeof b === 'string') {
      if (!isAllowedPromotion(a, b)) throw badRequest(`field ${old.name} (id ${id}) cannot change type from ${a} to ${b}: only int→long, float→double and widening decimal precision are allowed`);
    } else if (typeof a !== typeof b || (typeof a !== 'string' && typeof b !== 'string' && a.type !== b.type)) {
      throw badRequest(`field ${old.name} (id ${id}) cannot change between primitive and nested types`);
    }
    if (field.required && !old.required) throw badRequest(`field ${old.name} (id ${id}) cannot become required: existing rows may hold nulls`);
  }
}

// ---- updates ---------------------------------------------------------------------------------------------------

function parseSnapshotUpdate(v: unknown, where: string): Snapshot {
  if (!isObj(v)) throw badRequest(`${where} must be an object`);
  const summaryIn = v.summary;
  if (!isObj(summaryIn)) throw badRequest(`${where}.summary must be an object`);
  const summary: Record<string, string> = {};
  for (const [k, val] of Object.entries(summaryIn)) summary[k] = typeof val === 'string' ? val : String(val);
  const op = summary.operation;
  if (op !== 'append' && op !== 'replace' && op !== 'overwrite' && op !== 'delete') throw badRequest(`${where}.summary.operation must be append, replace, overwrite or delete`);
  const snapshot: Snapshot = {
    'snapshot-id': long(v['snapshot-id'], `${where}.snapshot-id`),
    'sequence-number': int(v, 'sequence-number', where),
    'timestamp-ms': int(v, 'timestamp-ms', where),
    'manifest-list': str(v, 'manifest-list', where),
    summary: summary as Snapshot['summary'],
  };
  if (v['parent-snapshot-id'] !== undefined && v['parent-snapshot-id'] !== null) snapshot['parent-snapshot-id'] = long(v['parent-snapshot-id'], `${where}.parent-snapshot-id`);
  if (v['schema-id'] !== undefined && v['schema-id'] !== null) snapshot['schema-id'] = int(v, 'schema-id', where);
  return snapshot;
}

/**
 * Applies REST updates to `base` (a fresh object; `base` is untouched). Supported: the updates engines send for
 * appends, overwrites, schema and partition evolution and property changes. Anything that would move or re-identify
 * the table (set-location, assign-uuid to another uuid, format downgrades) is refused.
 */
export function applyUpdates(base: TableMetadata, updates: Json[], opts: { previousMetadataLocation: string; nowMs: number }): TableMetadata {
  const m: TableMetadata = structuredClone(base);
  let lastAddedSchemaId: number | undefined;
  let lastAddedSpecId: number | undefined;
  let lastAddedOrderId: number | undefined;
  let changed = false;
  for (const [i, u] of updates.entries()) {
    const where = `updates[${i}]`;
    const action = u.action;
    changed = true;
    switch (action) {
      case 'assign-uuid':
        if (str(u, 'uuid', where) !== m['table-uuid']) throw badRequest('a table keeps its uuid; assign-uuid may only repeat it');
        break;
      case 'upgrade-format-version':
        if (int(u, 'format-version', where) !== 2) throw badRequest('Atoll tables are format version 2; no other version can be set');
        break;
      case 'set-location':
        if (str(u, 'location', where).replace(/\/+$/, '') !== m.location) throw badRequest('the catalog decides where tables live; set-location cannot move a table');
        break;
      case 'set-properties': {
        const props = u.updates;
        if (!isObj(props)) throw badRequest(`${where}.updates must be an object`);
        checkProperties(props);
        for (const [k, v] of Object.entries(props)) {
          if (typeof v !== 'string') throw badRequest(`${where}.updates.${k} must be a string`);
          m.properties[k] = v;
        }
        break;
      }
      case 'remove-properties': {
        const removals = u.removals;
        if (!Array.isArray(removals) || !removals.every((r) => typeof r === 'string')) throw badRequest(`${where}.removals must be an array of strings`);
        for (const k of removals) delete m.properties[k];
        break;
      }
      case 'add-schema': {
        let schema: IcebergSchema;
        try {
          schema = parseSchema(u.schema, `${where}.schema`);
        } catch (err) {
          throw badRequest((err as Error).message);
        }
        checkSchemaEvolution(currentSchema(m), schema);
        const same = m.schemas.find((s) => JSON.stringify(s.fields) === JSON.stringify(schema.fields));
        if (same) {
          lastAddedSchemaId = same['schema-id'];
          break;
        }
        const id = Math.max(...m.schemas.map((s) => s['schema-id'])) + 1;
        m.schemas.push({ ...schema, 'schema-id': id });
        const maxId = Math.max(...fieldsById(schema.fields).keys(), 0);
        const given = typeof u['last-column-id'] === 'number' ? u['last-column-id'] : 0;
        m['last-column-id'] = Math.max(m['last-column-id'], maxId, given);
        lastAddedSchemaId = id;
        break;
      }
      case 'set-current-schema': {
        let id = int(u, 'schema-id', where);
        if (id === -1) {
          if (lastAddedSchemaId === undefined) throw badRequest('set-current-schema -1 needs an add-schema before it');
          id = lastAddedSchemaId;
        }
        if (!m.schemas.some((s) => s['schema-id'] === id)) throw badRequest(`schema ${id} does not exist`);
        m['current-schema-id'] = id;
        break;
      }
      case 'add-spec': {
        let spec;
        try {
          spec = parsePartitionSpecJson(u.spec, currentSchema(m), `${where}.spec`, m['last-partition-id'] + 1);
        } catch (err) {
          throw badRequest((err as Error).message);
        }
        const id = Math.max(...m['partition-specs'].map((s) => s['spec-id'])) + 1;
        m['partition-specs'].push({ ...spec, 'spec-id': id });
        m['last-partition-id'] = Math.max(m['last-partition-id'], ...spec.fields.map((f) => f['field-id']));
        lastAddedSpecId = id;
        break;
      }
      case 'set-default-spec': {
        let id = int(u, 'spec-id', where);
        if (id === -1) {
          if (lastAddedSpecId === undefined) throw badRequest('set-default-spec -1 needs an add-spec before it');
          id = lastAddedSpecId;
        }
        if (!m['partition-specs'].some((s) => s['spec-id'] === id)) throw badRequest(`partition spec ${id} does not exist`);
        m['default-spec-id'] = id;
        break;
      }
      case 'add-sort-order': {
        const order = u['sort-order'];
        if (!isObj(order) || !Array.isArray(order.fields)) throw badRequest(`${where}.sort-order must be an object with fields`);
        const id = order.fields.length === 0 ? 0 : Math.max(...m['sort-orders'].map((s) => s['order-id'])) + 1;
        if (id !== 0) m['sort-orders'].push({ 'order-id': id, fields: order.fields as TableMetadata['sort-orders'][number]['fields'] });
        lastAddedOrderId = id;
        break;
      }
      case 'set-default-sort-order': {
        let id = int(u, 'sort-order-id', where);
        if (id === -1) {
          if (lastAddedOrderId === undefined) throw badRequest('set-default-sort-order -1 needs an add-sort-order before it');
          id = lastAddedOrderId;
        }
        if (!m['sort-orders'].some((s) => s['order-id'] === id)) throw badRequest(`sort order ${id} does not exist`);
        m['default-sort-order-id'] = id;
        break;
      }
      case 'add-snapshot': {
        const snapshot = parseSnapshotUpdate(u.snapshot, `${where}.snapshot`);
        if (snapshotById(m, snapshot['snapshot-id'])) throw commitFailed(`snapshot ${snapshot['snapshot-id']} already exists`);
        if (snapshot['sequence-number'] <= m['last-sequence-number']) {
          // The client built on an older base; its manifests carry stale sequence numbers.
          throw commitFailed(`snapshot sequence number ${snapshot['sequence-number']} is not above the table's ${m['last-sequence-number']}; reload and retry`);
        }
        if (!snapshot['manifest-list'].startsWith(`${m.location}/`)) throw badRequest(`the manifest list must be under the table location ${m.location}/`);
        const parent = snapshot['parent-snapshot-id'];
        if (parent !== undefined && !snapshotById(m, parent)) throw commitFailed(`parent snapshot ${parent} does not exist (expired concurrently?)`);
        m.snapshots.push(snapshot);
        m['last-sequence-number'] = snapshot['sequence-number'];
        break;
      }
      case 'set-snapshot-ref': {
        const name = str(u, 'ref-name', where);
        const id = long(u['snapshot-id'], `${where}.snapshot-id`);
        const type = str(u, 'type', where);
        if (type !== 'branch' && type !== 'tag') throw badRequest(`${where}.type must be branch or tag`);
        if (name === 'main' && type !== 'branch') throw badRequest('main is a branch');
        const snap = snapshotById(m, id);
        if (!snap) throw badRequest(`snapshot ${id} does not exist`);
        const ref: SnapshotRef = { 'snapshot-id': id, type };
        for (const k of ['min-snapshots-to-keep', 'max-snapshot-age-ms', 'max-ref-age-ms'] as const) {
          if (typeof u[k] === 'number') ref[k] = u[k];
        }
        m.refs[name] = ref;
        if (name === 'main' && m['current-snapshot-id'] !== id) {
          m['current-snapshot-id'] = id;
          m['snapshot-log'].push({ 'timestamp-ms': Math.max(snap['timestamp-ms'], ...m['snapshot-log'].map((e) => e['timestamp-ms'])), 'snapshot-id': id });
        }
        break;
      }
      case 'remove-snapshot-ref': {
        const name = str(u, 'ref-name', where);
        delete m.refs[name];
        if (name === 'main') m['current-snapshot-id'] = null;
        break;
      }
      case 'remove-snapshots': {
        const ids = u['snapshot-ids'];
        if (!Array.isArray(ids)) throw badRequest(`${where}.snapshot-ids must be an array`);
        const remove = new Set(ids.map((v, j) => long(v, `${where}.snapshot-ids[${j}]`)));
        for (const [name, ref] of Object.entries(m.refs)) {
          if (remove.has(ref['snapshot-id'])) throw badRequest(`snapshot ${ref['snapshot-id']} is still referenced by ${name}`);
        }
        m.snapshots = m.snapshots.filter((s) => !remove.has(s['snapshot-id']));
        m['snapshot-log'] = m['snapshot-log'].filter((e) => !remove.has(e['snapshot-id']));
        break;
      }
      default:
        throw badRequest(`${where}: unsupported update action ${JSON.stringify(action)}`);
    }
  }
  if (!changed) return m;
  const maxPrevious = Number(m.properties[PREVIOUS_VERSIONS_MAX_PROPERTY] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
  const keep = Number.isInteger(maxPrevious) && maxPrevious >= 1 ? maxPrevious : DEFAULT_PREVIOUS_VERSIONS_MAX;
  const log = [...m['metadata-log'], { 'timestamp-ms': base['last-updated-ms'], 'metadata-file': opts.previousMetadataLocation }];
  m['metadata-log'] = log.slice(Math.max(0, log.length - keep));
  m['last-updated-ms'] = Math.max(opts.nowMs, base['last-updated-ms'] + 1);
  return m;
}

export interface RestCommitResult {
  metadataLocation: string;
  metadata: TableMetadata;
}

/**
 * Loads, checks, applies, writes v<N+1>.metadata.json (create-if-absent) and swaps the pointer; a lost swap reloads
 * and starts over, so requirements always hold against the metadata the swap replaced. Nothing is referenced until
 * the swap succeeds: a failure at any step leaves the previous metadata current.
 */
export async function commitTable(opts: { io: ObjectIO; catalog: CatalogStore; id: TableIdentifier; request: CommitRequest }): Promise<RestCommitResult> {
  const { io, catalog, id, request } = opts;
  let lastConflict = '';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 10 * 2 ** attempt)));
    const base: LoadedTable = await loadTable({ io, catalog, id });
    const failed = failedRequirement(base.metadata, request.requirements);
    if (failed !== null) throw commitFailed(`requirement failed: ${failed}`);
    if (request.updates.length === 0) return { metadataLocation: base.metadataLocation, metadata: base.metadata };
    const next = applyUpdates(base.metadata, request.updates, { previousMetadataLocation: base.metadataLocation, nowMs: Date.now() });
    const bytes = new Uint8Array(Buffer.from(serializeTableMetadata(next), 'utf8'));
    // A round trip through the strict reader rejects anything inconsistent (e.g. main not at the current snapshot).
    try {
      parseTableMetadata(bytes, 'the committed metadata');
    } catch (err) {
      throw badRequest(`the updates would produce invalid table metadata: ${(err as Error).message}`);
    }
    const from = (metadataVersion(base.metadataLocation) ?? base.metadata['metadata-log'].length + 1) + 1;
    let location: string | null = null;
    for (let v = from; v < from + MAX_VERSION_PROBES && location === null; v++) {
      const candidate = `${next.location}/metadata/v${v}.metadata.json`;
      try {
        await io.write(candidate, bytes, { ifNoneMatch: true });
        location = candidate;
      } catch (err) {
        if (!isObjectAlreadyExists(err)) throw err;
      }
    }
    if (location === null) {
      lastConflict = `metadata versions v${from}..v${from + MAX_VERSION_PROBES - 1} are all taken`;
      continue;
    }
    if (await catalog.compareAndSwap(id, base.metadataLocation, location)) {
      await writeVersionHint({ io, catalog, id, location: next.location });
      return { metadataLocation: location, metadata: next };
    }
    // The unreferenced vN file stays for orphan-file maintenance: the api may not delete lake objects.
    lastConflict = `${base.metadataLocation} was no longer current`;
  }
  throw commitFailed(`commit failed after ${MAX_ATTEMPTS} attempts (last: ${lastConflict})`);
}
