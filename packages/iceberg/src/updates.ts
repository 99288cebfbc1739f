// Table requirements and metadata updates as the Iceberg REST spec names them (TableRequirement, TableUpdate): parsed
// from JSON, checked against a base, applied to it. Atoll's own writers express their changes in the same updates, so
// REST clients and Atoll's writers change a table through one set of rules (in the spirit of PyIceberg's table/update).
import { CommitConflictError } from './errors.js';
import { LOCATION_PROPERTIES, bad, changeProperties, isObj, parseSharedUpdate, refuseLocationProperties, str, type Json, type SharedUpdate } from './update-json.js';
import type { Snapshot, SnapshotRef, SortField, SortOrder, TableMetadata } from './metadata.js';
import { parseTransform } from './transforms.js';
import { currentSchema, snapshotById } from './metadata.js';
import type { PartitionSpec } from './partition.js';
import { resolvePartitionSpec } from './partition.js';
import type { IcebergSchema, NestedField } from './types.js';
import { isAllowedPromotion } from './types.js';

// ---- types -----------------------------------------------------------------------------------------------------

export type TableRequirement =
  | { type: 'assert-create' }
  | { type: 'assert-table-uuid'; uuid: string }
  /** `snapshot-id` null: the ref must not exist. */
  | { type: 'assert-ref-snapshot-id'; ref: string; 'snapshot-id': bigint | null }
  | { type: 'assert-last-assigned-field-id'; 'last-assigned-field-id': number }
  | { type: 'assert-current-schema-id'; 'current-schema-id': number }
  | { type: 'assert-last-assigned-partition-id'; 'last-assigned-partition-id': number }
  | { type: 'assert-default-spec-id'; 'default-spec-id': number }
  | { type: 'assert-default-sort-order-id'; 'default-sort-order-id': number };

/** A partition spec as clients send it: field ids may be missing (assigned on apply) and sources are checked then. */
export interface UnboundPartitionSpec {
  'spec-id'?: number;
  fields: Array<{ 'source-id': number; 'field-id'?: number; name: string; transform: string }>;
}

export type TableUpdate =
  | { action: 'assign-uuid'; uuid: string }
  | { action: 'upgrade-format-version'; 'format-version': number }
  | { action: 'set-location'; location: string }
  | { action: 'set-properties'; updates: Record<string, string> }
  | { action: 'remove-properties'; removals: string[] }
  | { action: 'add-schema'; schema: IcebergSchema; 'last-column-id'?: number }
  /** -1: the schema added last in this commit. */
  | { action: 'set-current-schema'; 'schema-id': number }
  | { action: 'add-spec'; spec: UnboundPartitionSpec }
  | { action: 'set-default-spec'; 'spec-id': number }
  | { action: 'add-sort-order'; 'sort-order': SortOrder }
  | { action: 'set-default-sort-order'; 'sort-order-id': number }
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | ({ action: 'set-snapshot-ref'; 'ref-name': string } & SnapshotRef)
  | { action: 'remove-snapshot-ref'; 'ref-name': string }
  | { action: 'remove-snapshots'; 'snapshot-ids': bigint[] };

const TABLE_UPDATE_ACTIONS: ReadonlySet<string> = new Set<TableUpdate['action']>([
  'assign-uuid',
  'upgrade-format-version',
  'set-location',
  'set-properties',
  'remove-properties',
  'add-schema',
  'set-current-schema',
  'add-spec',
  'set-default-spec',
  'add-sort-order',
  'set-default-sort-order',
  'add-snapshot',
  'set-snapshot-ref',
  'remove-snapshot-ref',
  'remove-snapshots',
]);

export { LOCATION_PROPERTIES };

export function checkProperties(properties: Record<string, unknown>): void {
  refuseLocationProperties(properties, "a table's files stay under its location");
}

// ---- parsing JSON ----------------------------------------------------------------------------------------------

function int(o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`${where}.${key} must be an integer`);
  return v;
}
function long(v: unknown, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw bad(`${where} must be a long`);
}
const present = (v: unknown): boolean => v !== undefined && v !== null;

/** One requirement from its JSON form (64-bit ids may arrive as bigint); unknown types are a bad request. */
export function parseTableRequirement(json: unknown, where = 'requirement'): TableRequirement {
  if (!isObj(json)) throw bad(`${where} must be an object`);
  const type = str(json, 'type', where);
  switch (type) {
    case 'assert-create':
      return { type };
    case 'assert-table-uuid':
      return { type, uuid: str(json, 'uuid', where) };
    case 'assert-ref-snapshot-id':
      return { type, ref: str(json, 'ref', where), 'snapshot-id': present(json['snapshot-id']) ? long(json['snapshot-id'], `${where}.snapshot-id`) : null };
    case 'assert-last-assigned-field-id':
      return { type, 'last-assigned-field-id': int(json, 'last-assigned-field-id', where) };
    case 'assert-current-schema-id':
      return { type, 'current-schema-id': int(json, 'current-schema-id', where) };
    case 'assert-last-assigned-partition-id':
      return { type, 'last-assigned-partition-id': int(json, 'last-assigned-partition-id', where) };
    case 'assert-default-spec-id':
      return { type, 'default-spec-id': int(json, 'default-spec-id', where) };
    case 'assert-default-sort-order-id':
      return { type, 'default-sort-order-id': int(json, 'default-sort-order-id', where) };
    default:
      throw bad(`${where}: unsupported requirement type ${JSON.stringify(type)}`);
  }
}

function parseSnapshot(v: unknown, where: string): Snapshot {
  if (!isObj(v)) throw bad(`${where} must be an object`);
  const summaryIn = v.summary;
  if (!isObj(summaryIn)) throw bad(`${where}.summary must be an object`);
  const summary: Record<string, string> = {};
  for (const [k, val] of Object.entries(summaryIn)) summary[k] = typeof val === 'string' ? val : String(val);
  const op = summary.operation;
  if (op !== 'append' && op !== 'replace' && op !== 'overwrite' && op !== 'delete') throw bad(`${where}.summary.operation must be append, replace, overwrite or delete`);
  const snapshot: Snapshot = {
    'snapshot-id': long(v['snapshot-id'], `${where}.snapshot-id`),
    'sequence-number': int(v, 'sequence-number', where),
    'timestamp-ms': int(v, 'timestamp-ms', where),
    'manifest-list': str(v, 'manifest-list', where),
    summary: summary as Snapshot['summary'],
  };
  if (present(v['parent-snapshot-id'])) snapshot['parent-snapshot-id'] = long(v['parent-snapshot-id'], `${where}.parent-snapshot-id`);
  if (present(v['schema-id'])) snapshot['schema-id'] = int(v, 'schema-id', where);
  return snapshot;
}

/** A partition spec from its JSON form (create-table, add-spec); bound to a schema by `bindPartitionSpec`. */
export function parseUnboundPartitionSpec(v: unknown, where: string): UnboundPartitionSpec {
  if (!isObj(v)) throw bad(`${where} must be an object`);
  if (!Array.isArray(v.fields)) throw bad(`${where}.fields must be an array`);
  const fields = v.fields.map((f: unknown, i) => {
    const fw = `${where}.fields[${i}]`;
    if (!isObj(f)) throw bad(`${fw} must be an object`);
    const field: UnboundPartitionSpec['fields'][number] = { 'source-id': int(f, 'source-id', fw), name: str(f, 'name', fw), transform: str(f, 'transform', fw) };
    if (present(f['field-id'])) field['field-id'] = int(f, 'field-id', fw);
    return field;
  });
  return { ...(present(v['spec-id']) ? { 'spec-id': int(v, 'spec-id', where) } : {}), fields };
}

/** A sort order's fields from their JSON form (create-table `write-order`, add-sort-order); bound by checkSortFields. */
export function parseSortFields(v: unknown, where: string): SortField[] {
  if (!Array.isArray(v)) throw bad(`${where}.fields must be an array`);
  return v.map((f: unknown, i) => {
    const fw = `${where}.fields[${i}]`;
    if (!isObj(f)) throw bad(`${fw} must be an object`);
    const direction = str(f, 'direction', fw);
    if (direction !== 'asc' && direction !== 'desc') throw bad(`${fw}.direction must be asc or desc`);
    const nullOrder = str(f, 'null-order', fw);
    if (nullOrder !== 'nulls-first' && nullOrder !== 'nulls-last') throw bad(`${fw}.null-order must be nulls-first or nulls-last`);
    return { transform: str(f, 'transform', fw), 'source-id': int(f, 'source-id', fw), direction, 'null-order': nullOrder };
  });
}

/** Every sort field must sort by a column of `schema` with a transform Iceberg knows. */
export function checkSortFields(schema: IcebergSchema, fields: readonly SortField[], where = 'sort-order'): void {
  const ids = fieldsById(schema.fields);
  for (const [i, f] of fields.entries()) {
    if (!ids.has(f['source-id'])) throw bad(`${where}.fields[${i}]: source-id ${f['source-id']} is not a column of the schema`);
    try {
      parseTransform(f.transform);
    } catch (err) {
      throw bad(`${where}.fields[${i}]: ${(err as Error).message}`);
    }
  }
}

/** One update from its JSON form; unknown actions and malformed fields are a bad request. */
export function parseTableUpdate(json: unknown, where = 'update'): TableUpdate {
  if (!isObj(json)) throw bad(`${where} must be an object`);
  const action = str(json, 'action', where);
  if (!TABLE_UPDATE_ACTIONS.has(action)) throw bad(`${where}: unsupported update action ${JSON.stringify(action)}`);
  const shared = parseSharedUpdate(json, action, where);
  if (shared) return shared;
  switch (action as Exclude<TableUpdate['action'], SharedUpdate['action']>) {
    case 'upgrade-format-version':
      return { action: 'upgrade-format-version', 'format-version': int(json, 'format-version', where) };
    case 'set-properties': {
      const props = json.updates;
      if (!isObj(props)) throw bad(`${where}.updates must be an object`);
      const updates: Record<string, string> = {};
      for (const [k, v] of Object.entries(props)) {
        if (typeof v !== 'string') throw bad(`${where}.updates.${k} must be a string`);
        updates[k] = v;
      }
      return { action: 'set-properties', updates };
    }
    case 'set-current-schema':
      return { action: 'set-current-schema', 'schema-id': int(json, 'schema-id', where) };
    case 'add-spec':
      return { action: 'add-spec', spec: parseUnboundPartitionSpec(json.spec, `${where}.spec`) };
    case 'set-default-spec':
      return { action: 'set-default-spec', 'spec-id': int(json, 'spec-id', where) };
    case 'add-sort-order': {
      const order = json['sort-order'];
      if (!isObj(order)) throw bad(`${where}.sort-order must be an object with fields`);
      return { action: 'add-sort-order', 'sort-order': { 'order-id': typeof order['order-id'] === 'number' ? order['order-id'] : 0, fields: parseSortFields(order.fields, `${where}.sort-order`) } };
    }
    case 'set-default-sort-order':
      return { action: 'set-default-sort-order', 'sort-order-id': int(json, 'sort-order-id', where) };
    case 'add-snapshot':
      return { action: 'add-snapshot', snapshot: parseSnapshot(json.snapshot, `${where}.snapshot`) };
    case 'set-snapshot-ref': {
      const type = str(json, 'type', where);
      if (type !== 'branch' && type !== 'tag') throw bad(`${where}.type must be branch or tag`);
      const update: TableUpdate = { action: 'set-snapshot-ref', 'ref-name': str(json, 'ref-name', where), type, 'snapshot-id': long(json['snapshot-id'], `${where}.snapshot-id`) };
      for (const k of ['min-snapshots-to-keep', 'max-snapshot-age-ms', 'max-ref-age-ms'] as const) {
        if (typeof json[k] === 'number') update[k] = json[k];
      }
      return update;
    }
    case 'remove-snapshot-ref':
      return { action: 'remove-snapshot-ref', 'ref-name': str(json, 'ref-name', where) };
    case 'remove-snapshots': {
      const ids = json['snapshot-ids'];
      if (!Array.isArray(ids)) throw bad(`${where}.snapshot-ids must be an array`);
      return { action: 'remove-snapshots', 'snapshot-ids': ids.map((v, j) => long(v, `${where}.snapshot-ids[${j}]`)) };
    }
  }
}

// ---- requirements ----------------------------------------------------------------------------------------------

/**
 * Null when every requirement holds for `base`, else why not (a conflict: the client reloads and retries). The words
 * are the reference implementation's ("Requirement failed: current schema changed: expected id 0 != 1"), which clients
 * and Iceberg's compatibility kit match on.
 */
export function failedRequirement(base: TableMetadata, requirements: readonly TableRequirement[]): string | null {
  const changed = (what: string, expected: unknown, actual: unknown): string => `Requirement failed: ${what} changed: expected id ${String(expected)} != ${String(actual)}`;
  for (const r of requirements) {
    switch (r.type) {
      case 'assert-create':
        return 'Requirement failed: table already exists';
      case 'assert-table-uuid':
        if (r.uuid !== base['table-uuid']) return `Requirement failed: UUID does not match: expected ${base['table-uuid']} != ${r.uuid}`;
        break;
      case 'assert-ref-snapshot-id': {
        const expected = r['snapshot-id'];
        const ref = base.refs[r.ref];
        const actual = ref?.['snapshot-id'] ?? null;
        if (expected !== actual) {
          if (expected === null) return `Requirement failed: ${ref?.type ?? 'branch'} ${r.ref} was created concurrently`;
          if (ref === undefined) return `Requirement failed: branch or tag ${r.ref} is missing, expected ${expected}`;
          return `Requirement failed: ${ref.type} ${r.ref} has changed: expected id ${expected} != ${String(actual)}`;
        }
        break;
      }
      case 'assert-last-assigned-field-id':
        if (r['last-assigned-field-id'] !== base['last-column-id']) return changed('last assigned field id', r['last-assigned-field-id'], base['last-column-id']);
        break;
      case 'assert-current-schema-id':
        if (r['current-schema-id'] !== base['current-schema-id']) return changed('current schema', r['current-schema-id'], base['current-schema-id']);
        break;
      case 'assert-last-assigned-partition-id':
        if (r['last-assigned-partition-id'] !== base['last-partition-id']) return changed('last assigned partition id', r['last-assigned-partition-id'], base['last-partition-id']);
        break;
      case 'assert-default-spec-id':
        if (r['default-spec-id'] !== base['default-spec-id']) return changed('default partition spec', r['default-spec-id'], base['default-spec-id']);
        break;
      case 'assert-default-sort-order-id':
        if (r['default-sort-order-id'] !== base['default-sort-order-id']) return changed('default sort order', r['default-sort-order-id'], base['default-sort-order-id']);
        break;
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

/** Throws InvalidInputError when `to` cannot replace `from` without rewriting data (spec: Schema Evolution). */
export function checkSchemaEvolution(from: IcebergSchema, to: IcebergSchema): void {
  const before = fieldsById(from.fields);
  for (const [id, field] of fieldsById(to.fields)) {
    const old = before.get(id);
    if (!old) {
      if (field.required) throw bad(`new field ${field.name} (id ${id}) must be optional: existing rows have no value for it`);
      continue;
    }
    const [a, b] = [old.type, field.type];
    if (typeof a === 'string' && typeof b === 'string') {
      if (!isAllowedPromotion(a, b)) throw bad(`field ${old.name} (id ${id}) cannot change type from ${a} to ${b}: only int→long, float→double and widening decimal precision are allowed`);
    } else if (typeof a !== typeof b || (typeof a !== 'string' && typeof b !== 'string' && a.type !== b.type)) {
      throw bad(`field ${old.name} (id ${id}) cannot change between primitive and nested types`);
    }
    if (field.required && !old.required) throw bad(`field ${old.name} (id ${id}) cannot become required: existing rows may hold nulls`);
  }
}

/** Binds a client's spec to `schema`, assigning missing field ids from `nextFieldId` as the reference implementation does. */
export function bindPartitionSpec(spec: UnboundPartitionSpec, schema: IcebergSchema, nextFieldId: number, where = 'partition-spec'): PartitionSpec {
  let next = nextFieldId;
  const fields = spec.fields.map((f) => {
    const fieldId = f['field-id'] ?? next;
    next = Math.max(next, fieldId + 1);
    return { 'source-id': f['source-id'], 'field-id': fieldId, name: f.name, transform: f.transform };
  });
  const bound: PartitionSpec = { 'spec-id': spec['spec-id'] ?? 0, fields };
  try {
    resolvePartitionSpec(schema, bound);
  } catch (err) {
    throw bad(`${where}: ${(err as Error).message}`);
  }
  return bound;
}

// ---- applying updates ------------------------------------------------------------------------------------------

/**
 * Applies `updates` to `base` and returns the new metadata (`base` is untouched). A new current schema must read the
 * rows main serves (checkSchemaEvolution) unless the commit leaves main without earlier rows. Anything that would move or
 * re-identify the table (set-location elsewhere, another uuid, another format version) is refused with
 * InvalidInputError; an update that no longer fits a base another writer changed (a stale sequence number, a parent
 * that was expired) is a CommitConflictError. The metadata-log and last-updated-ms are the commit engine's job.
 */
export function applyUpdates(base: TableMetadata, updates: readonly TableUpdate[]): TableMetadata {
  const m = copyForUpdate(base);
  let lastAddedSchemaId: number | undefined;
  let lastAddedSpecId: number | undefined;
  let lastAddedOrderId: number | undefined;
  for (const [i, u] of updates.entries()) {
    const where = `updates[${i}] (${u.action})`;
    switch (u.action) {
      case 'assign-uuid':
        if (u.uuid !== m['table-uuid']) throw bad('a table keeps its uuid; assign-uuid may only repeat it');
        break;
      case 'upgrade-format-version':
        if (u['format-version'] !== 2) throw bad('Atoll tables are format version 2; no other version can be set');
        break;
      case 'set-location':
        if (u.location.replace(/\/+$/, '') !== m.location) throw bad('the catalog decides where tables live; set-location cannot move a table');
        break;
      case 'set-properties':
      case 'remove-properties':
        changeProperties(m.properties, u, checkProperties);
        break;
      case 'add-schema': {
        const schema = u.schema;
        // Spec: reuse the id of an identical earlier schema instead of adding a duplicate.
        const same = m.schemas.find((s) => JSON.stringify(s.fields) === JSON.stringify(schema.fields));
        if (same) {
          lastAddedSchemaId = same['schema-id'];
          break;
        }
        const id = Math.max(...m.schemas.map((s) => s['schema-id'])) + 1;
        m.schemas.push({ ...schema, 'schema-id': id });
        const maxId = Math.max(...fieldsById(schema.fields).keys(), 0);
        m['last-column-id'] = Math.max(m['last-column-id'], maxId, u['last-column-id'] ?? 0);
        lastAddedSchemaId = id;
        break;
      }
      case 'set-current-schema': {
        let id = u['schema-id'];
        if (id === -1) {
          if (lastAddedSchemaId === undefined) throw bad('set-current-schema -1 needs an add-schema before it');
          id = lastAddedSchemaId;
        }
        if (!m.schemas.some((s) => s['schema-id'] === id)) throw bad(`schema ${id} does not exist`);
        m['current-schema-id'] = id;
        break;
      }
      case 'add-spec': {
        const spec = bindPartitionSpec(u.spec, currentSchema(m), m['last-partition-id'] + 1, `${where}.spec`);
        const id = Math.max(...m['partition-specs'].map((s) => s['spec-id'])) + 1;
        m['partition-specs'].push({ ...spec, 'spec-id': id });
        m['last-partition-id'] = Math.max(m['last-partition-id'], ...spec.fields.map((f) => f['field-id']));
        lastAddedSpecId = id;
        break;
      }
      case 'set-default-spec': {
        let id = u['spec-id'];
        if (id === -1) {
          if (lastAddedSpecId === undefined) throw bad('set-default-spec -1 needs an add-spec before it');
          id = lastAddedSpecId;
        }
        if (!m['partition-specs'].some((s) => s['spec-id'] === id)) throw bad(`partition spec ${id} does not exist`);
        m['default-spec-id'] = id;
        break;
      }
      case 'add-sort-order': {
        const fields = u['sort-order'].fields;
        checkSortFields(currentSchema(m), fields, `${where}.sort-order`);
        // Spec: an order equal to an existing one reuses its id (the unsorted order is always 0).
        const same = m['sort-orders'].find((o) => JSON.stringify(o.fields) === JSON.stringify(fields));
        const id = same ? same['order-id'] : Math.max(...m['sort-orders'].map((s) => s['order-id'])) + 1;
        if (!same) m['sort-orders'].push({ 'order-id': id, fields });
        lastAddedOrderId = id;
        break;
      }
      case 'set-default-sort-order': {
        let id = u['sort-order-id'];
        if (id === -1) {
          if (lastAddedOrderId === undefined) throw bad('set-default-sort-order -1 needs an add-sort-order before it');
          id = lastAddedOrderId;
        }
        if (!m['sort-orders'].some((s) => s['order-id'] === id)) throw bad(`sort order ${id} does not exist`);
        m['default-sort-order-id'] = id;
        break;
      }
      case 'add-snapshot': {
        const snapshot = u.snapshot;
        if (snapshotById(m, snapshot['snapshot-id'])) throw new CommitConflictError(`snapshot ${snapshot['snapshot-id']} already exists`);
        if (snapshot['sequence-number'] <= m['last-sequence-number']) {
          // The writer built on an older base; its manifests carry stale sequence numbers.
          throw new CommitConflictError(`snapshot sequence number ${snapshot['sequence-number']} is not above the table's ${m['last-sequence-number']}; reload and retry`);
        }
        if (!snapshot['manifest-list'].startsWith(`${m.location}/`)) throw bad(`the manifest list must be under the table location ${m.location}/`);
        const parent = snapshot['parent-snapshot-id'];
        if (parent !== undefined && !snapshotById(m, parent)) throw new CommitConflictError(`parent snapshot ${parent} does not exist (expired concurrently?)`);
        m.snapshots.push(snapshot);
        m['last-sequence-number'] = snapshot['sequence-number'];
        break;
      }
      case 'set-snapshot-ref': {
        const name = u['ref-name'];
        if (name === 'main' && u.type !== 'branch') throw bad('main is a branch');
        const snap = snapshotById(m, u['snapshot-id']);
        if (!snap) throw bad(`snapshot ${u['snapshot-id']} does not exist`);
        const ref: SnapshotRef = { 'snapshot-id': u['snapshot-id'], type: u.type };
        for (const k of ['min-snapshots-to-keep', 'max-snapshot-age-ms', 'max-ref-age-ms'] as const) {
          if (u[k] !== undefined) ref[k] = u[k];
        }
        m.refs[name] = ref;
        if (name === 'main' && m['current-snapshot-id'] !== ref['snapshot-id']) {
          m['current-snapshot-id'] = ref['snapshot-id'];
          let at = snap['timestamp-ms'];
          for (const e of m['snapshot-log']) if (e['timestamp-ms'] > at) at = e['timestamp-ms'];
          m['snapshot-log'].push({ 'timestamp-ms': at, 'snapshot-id': ref['snapshot-id'] });
        }
        break;
      }
      case 'remove-snapshot-ref':
        delete m.refs[u['ref-name']];
        if (u['ref-name'] === 'main') m['current-snapshot-id'] = null;
        break;
      case 'remove-snapshots': {
        const remove = new Set(u['snapshot-ids']);
        for (const [name, ref] of Object.entries(m.refs)) {
          if (remove.has(ref['snapshot-id'])) throw bad(`snapshot ${ref['snapshot-id']} is still referenced by ${name}`);
        }
        m.snapshots = m.snapshots.filter((s) => !remove.has(s['snapshot-id']));
        m['snapshot-log'] = m['snapshot-log'].filter((e) => !remove.has(e['snapshot-id']));
        // Statistics files of removed snapshots describe snapshots no reader can load any more.
        const live = (v: unknown): boolean => {
          const sid = (v as { 'snapshot-id'?: unknown } | null)?.['snapshot-id'];
          return !((typeof sid === 'number' || typeof sid === 'bigint') && remove.has(BigInt(sid)));
        };
        if (m.statistics) m.statistics = m.statistics.filter(live);
        if (m['partition-statistics']) m['partition-statistics'] = m['partition-statistics'].filter(live);
        break;
      }
    }
  }
  // The rows main already serves must read under the new current schema; a commit that leaves main without such rows
  // (an empty table, or a replace: main removed or pointed at a new snapshot with no parent) may change it freely.
  if (m['current-schema-id'] !== base['current-schema-id'] && servesEarlierRows(base, m)) checkSchemaEvolution(currentSchema(base), currentSchema(m));
  return m;
}

/**
 * The metadata `applyUpdates` edits: its own copy of every list and map an update changes (schemas, specs, sort
 * orders, properties, snapshots, snapshot-log, refs, statistics), sharing the entries themselves with `base`. Updates
 * only ever add, remove or replace entries, never edit one in place, so `base` stays untouched — and the entries of a
 * committed base are frozen (committed-cache.ts), so an edit in place would throw rather than change it. A deep copy
 * cost time in proportion to the table's whole history on every commit.
 */
function copyForUpdate(base: TableMetadata): TableMetadata {
  return {
    ...base,
    schemas: [...base.schemas],
    'partition-specs': [...base['partition-specs']],
    'sort-orders': [...base['sort-orders']],
    properties: { ...base.properties },
    snapshots: [...base.snapshots],
    'snapshot-log': [...base['snapshot-log']],
    'metadata-log': [...base['metadata-log']],
    refs: { ...base.refs },
    ...(base.statistics ? { statistics: [...base.statistics] } : {}),
    ...(base['partition-statistics'] ? { 'partition-statistics': [...base['partition-statistics']] } : {}),
  };
}

/** Whether `next`'s main branch reads data written before this commit (a snapshot `base` had, or one descending from it). */
function servesEarlierRows(base: TableMetadata, next: TableMetadata): boolean {
  const main = next.refs.main;
  if (main === undefined) return false;
  if (snapshotById(base, main['snapshot-id'])) return true;
  return snapshotById(next, main['snapshot-id'])?.['parent-snapshot-id'] !== undefined;
}

/** Snapshots in `next` that `base` does not have: what a commit adds. */
export function addedSnapshots(base: TableMetadata, next: TableMetadata): Snapshot[] {
  const before = new Set(base.snapshots.map((s) => s['snapshot-id']));
  return next.snapshots.filter((s) => !before.has(s['snapshot-id']));
}
