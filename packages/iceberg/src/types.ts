// Iceberg schema and type model, shaped exactly like the spec's JSON (Appendix C) so metadata round-trips untouched.
import { InvalidInputError } from './errors.js';

/** Atoll's public column types (what providers and datasets declare). */
export type ColumnType =
  | 'string'
  | 'long'
  | 'double'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | `decimal(${number},${number})`;

/** Iceberg v2 primitive types as their JSON strings. */
export type PrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary'
  | `decimal(${number},${number})`
  | `fixed[${number}]`;

export interface NestedField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
}

export interface StructType {
  type: 'struct';
  fields: NestedField[];
}

export interface ListType {
  type: 'list';
  'element-id': number;
  element: IcebergType;
  'element-required': boolean;
}

export interface MapType {
  type: 'map';
  'key-id': number;
  key: IcebergType;
  'value-id': number;
  value: IcebergType;
  'value-required': boolean;
}

export type IcebergType = PrimitiveType | StructType | ListType | MapType;

export interface IcebergSchema {
  type: 'struct';
  'schema-id': number;
  'identifier-field-ids'?: number[];
  fields: NestedField[];
}

const SIMPLE_PRIMITIVES = new Set<string>([
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'string',
  'uuid',
  'binary',
]);

const DECIMAL_RE = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;
const FIXED_RE = /^fixed\[\s*(\d+)\s*\]$/;

export function isPrimitive(type: IcebergType): type is PrimitiveType {
  return typeof type === 'string';
}

/** Precision and scale of a decimal type string, or null when `type` is not a decimal. */
export function decimalParams(type: IcebergType): { precision: number; scale: number } | null {
  if (typeof type !== 'string') return null;
  const m = DECIMAL_RE.exec(type);
  if (!m) return null;
  return { precision: Number(m[1]), scale: Number(m[2]) };
}

/** Length of a fixed[L] type, or null. */
export function fixedLength(type: IcebergType): number | null {
  if (typeof type !== 'string') return null;
  const m = FIXED_RE.exec(type);
  return m ? Number(m[1]) : null;
}

/** Bytes needed to hold any unscaled value of the given decimal precision (Avro fixed size, spec Appendix A). */
export function decimalRequiredBytes(precision: number): number {
  for (let bytes = 1; bytes <= 16; bytes++) {
    // largest unscaled value representable in `bytes` two's-complement bytes: 2^(8*bytes-1) - 1
    if (10n ** BigInt(precision) - 1n <= 2n ** BigInt(8 * bytes - 1) - 1n) return bytes;
  }
  throw new InvalidInputError(`decimal precision ${precision} exceeds 38`);
}

/** Validates and canonicalizes a primitive type string ("decimal(9, 2)" → "decimal(9,2)"). */
export function parsePrimitiveType(text: string): PrimitiveType {
  const t = text.trim();
  if (SIMPLE_PRIMITIVES.has(t)) return t as PrimitiveType;
  const dec = DECIMAL_RE.exec(t);
  if (dec) {
    const precision = Number(dec[1]);
    const scale = Number(dec[2]);
    if (precision < 1 || precision > 38) throw new InvalidInputError(`decimal precision must be 1..38, got ${t}`);
    if (scale > precision) throw new InvalidInputError(`decimal scale must not exceed precision, got ${t}`);
    return `decimal(${precision},${scale})`;
  }
  const fixed = FIXED_RE.exec(t);
  if (fixed) {
    const len = Number(fixed[1]);
    if (len < 1) throw new InvalidInputError(`fixed length must be positive, got ${t}`);
    return `fixed[${len}]`;
  }
  throw new InvalidInputError(`unknown or unsupported Iceberg type ${JSON.stringify(text)} (format v2 types only)`);
}

/** Parses a type from its JSON form (a string or a struct/list/map object), validating the shape. */
export function parseType(json: unknown, where = 'type'): IcebergType {
  if (typeof json === 'string') return parsePrimitiveType(json);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidInputError(`${where}: expected a type string or object`);
  }
  const obj = json as Record<string, unknown>;
  switch (obj.type) {
    case 'struct':
      return { type: 'struct', fields: parseFields(obj.fields, where) };
    case 'list':
      return {
        type: 'list',
        'element-id': requireInt(obj['element-id'], `${where}.element-id`),
        element: parseType(obj.element, `${where}.element`),
        'element-required': requireBool(obj['element-required'], `${where}.element-required`),
      };
    case 'map':
      return {
        type: 'map',
        'key-id': requireInt(obj['key-id'], `${where}.key-id`),
        key: parseType(obj.key, `${where}.key`),
        'value-id': requireInt(obj['value-id'], `${where}.value-id`),
        value: parseType(obj.value, `${where}.value`),
        'value-required': requireBool(obj['value-required'], `${where}.value-required`),
      };
    default:
      throw new InvalidInputError(`${where}: unknown nested type ${JSON.stringify(obj.type)}`);
  }
}

export function parseFields(json: unknown, where: string): NestedField[] {
  if (!Array.isArray(json)) throw new InvalidInputError(`${where}.fields: expected an array`);
  return json.map((f: unknown, i) => {
    if (typeof f !== 'object' || f === null) throw new InvalidInputError(`${where}.fields[${i}]: expected an object`);
    const o = f as Record<string, unknown>;
    const name = o.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidInputError(`${where}.fields[${i}].name: expected a non-empty string`);
    }
    const field: NestedField = {
      id: requireInt(o.id, `${where}.fields[${i}].id`),
      name,
      required: requireBool(o.required, `${where}.fields[${i}].required`),
      type: parseType(o.type, `${where}.${name}`),
    };
    if (typeof o.doc === 'string') field.doc = o.doc;
    return field;
  });
}

function requireInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidInputError(`${where}: expected an integer`);
  return v;
}

function requireBool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidInputError(`${where}: expected a boolean`);
  return v;
}

/** Parses a schema object from metadata JSON (throws InvalidInputError; callers wrap it with the file location). */
export function parseSchema(json: unknown, where = 'schema'): IcebergSchema {
  if (typeof json !== 'object' || json === null) throw new InvalidInputError(`${where}: expected an object`);
  const o = json as Record<string, unknown>;
  if (o.type !== 'struct') throw new InvalidInputError(`${where}.type: expected "struct"`);
  const schema: IcebergSchema = {
    type: 'struct',
    'schema-id': requireInt(o['schema-id'] ?? 0, `${where}.schema-id`),
    fields: parseFields(o.fields, where),
  };
  const ids = o['identifier-field-ids'];
  if (Array.isArray(ids)) schema['identifier-field-ids'] = ids.map((v, i) => requireInt(v, `${where}.identifier-field-ids[${i}]`));
  validateSchema(schema);
  return schema;
}

/** Visits every field (depth first), including list elements and map keys/values as pseudo-fields. */
export function visitFieldIds(type: IcebergType, visit: (id: number, type: IcebergType, inCollection: boolean) => void, inCollection = false): void {
  if (typeof type === 'string') return;
  if (type.type === 'struct') {
    for (const f of type.fields) {
      visit(f.id, f.type, inCollection);
      visitFieldIds(f.type, visit, inCollection);
    }
  } else if (type.type === 'list') {
    visit(type['element-id'], type.element, true);
    visitFieldIds(type.element, visit, true);
  } else {
    visit(type['key-id'], type.key, true);
    visitFieldIds(type.key, visit, true);
    visit(type['value-id'], type.value, true);
    visitFieldIds(type.value, visit, true);
  }
}

/** Highest field id used anywhere in the schema (for last-column-id). */
export function highestFieldId(schema: IcebergSchema): number {
  let max = 0;
  visitFieldIds(schema, (id) => {
    if (id > max) max = id;
  });
  return max;
}

/** Field ids must be unique across the whole schema; names unique within each struct. */
export function validateSchema(schema: IcebergSchema): void {
  const seen = new Set<number>();
  visitFieldIds(schema, (id) => {
    if (!Number.isInteger(id) || id < 0) throw new InvalidInputError(`schema field id ${id} is not a non-negative integer`);
    if (seen.has(id)) throw new InvalidInputError(`schema field id ${id} is used twice`);
    seen.add(id);
  });
  const checkNames = (fields: NestedField[]): void => {
    const names = new Set<string>();
    for (const f of fields) {
      if (names.has(f.name)) throw new InvalidInputError(`schema has two fields named ${JSON.stringify(f.name)}`);
      names.add(f.name);
    }
  };
  checkNames(schema.fields);
  visitFieldIds(schema, (_id, t) => {
    if (typeof t !== 'string' && t.type === 'struct') checkNames(t.fields);
  });
}

/** Index of primitive fields by id, with their dotted name and whether they live inside a list or map. */
export function indexFields(schema: IcebergSchema): Map<number, { field: NestedField; path: string; inCollection: boolean }> {
  const out = new Map<number, { field: NestedField; path: string; inCollection: boolean }>();
  const walk = (fields: NestedField[], prefix: string, inCollection: boolean): void => {
    for (const f of fields) {
      const path = prefix ? `${prefix}.${f.name}` : f.name;
      out.set(f.id, { field: f, path, inCollection });
      if (typeof f.type !== 'string') {
        if (f.type.type === 'struct') walk(f.type.fields, path, inCollection);
        else walkNested(f.type, path);
      }
    }
  };
  const walkNested = (t: ListType | MapType, path: string): void => {
    const pseudo = (id: number, name: string, type: IcebergType, required: boolean): void => {
      const p = `${path}.${name}`;
      out.set(id, { field: { id, name, required, type }, path: p, inCollection: true });
      if (typeof type !== 'string') {
        if (type.type === 'struct') walk(type.fields, p, true);
        else walkNested(type, p);
      }
    };
    if (t.type === 'list') pseudo(t['element-id'], 'element', t.element, t['element-required']);
    else {
      pseudo(t['key-id'], 'key', t.key, true);
      pseudo(t['value-id'], 'value', t.value, t['value-required']);
    }
  };
  walk(schema.fields, '', false);
  return out;
}

/** True when a column of type `from` may be read as `to` (spec: allowed type promotions). */
export function isAllowedPromotion(from: PrimitiveType, to: PrimitiveType): boolean {
  if (from === to) return true;
  if (from === 'int' && to === 'long') return true;
  if (from === 'float' && to === 'double') return true;
  const a = decimalParams(from);
  const b = decimalParams(to);
  return a !== null && b !== null && a.scale === b.scale && b.precision >= a.precision;
}
