// Reading the REST spec's update and requirement JSON: the field readers and the updates tables and views parse alike
// (updates.ts, view-metadata.ts), so a mistyped field reads the same in a 400 whichever kind the client commits to.
import { InvalidInputError } from './errors.js';
import type { IcebergSchema } from './types.js';
import { parseSchema } from './types.js';

export type Json = Record<string, unknown>;

export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const bad = (message: string): InvalidInputError => new InvalidInputError(message);

export function str(o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`${where}.${key} must be a string`);
  return v;
}

/** A schema from its JSON form; a bad one is the client's input error. */
export function schemaOf(v: unknown, where: string): IcebergSchema {
  try {
    return parseSchema(v, where);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

/** The updates a table and a view are changed by alike (their own rules apply them). */
export type SharedUpdate =
  | { action: 'assign-uuid'; uuid: string }
  | { action: 'set-location'; location: string }
  | { action: 'remove-properties'; removals: string[] }
  | { action: 'add-schema'; schema: IcebergSchema; 'last-column-id'?: number };

/** `json` as one of the shared updates if its action is one of theirs, else undefined (the caller's own actions). */
export function parseSharedUpdate(json: Json, action: string, where: string): SharedUpdate | undefined {
  switch (action) {
    case 'assign-uuid':
      return { action, uuid: str(json, 'uuid', where) };
    case 'set-location':
      return { action, location: str(json, 'location', where) };
    case 'remove-properties': {
      const removals = json.removals;
      if (!Array.isArray(removals) || !removals.every((r) => typeof r === 'string')) throw bad(`${where}.removals must be an array of strings`);
      return { action, removals };
    }
    case 'add-schema':
      return { action, schema: schemaOf(json.schema, `${where}.schema`), ...(typeof json['last-column-id'] === 'number' ? { 'last-column-id': json['last-column-id'] } : {}) };
    default:
      return undefined;
  }
}

/**
 * Properties that would move files out of the table's or view's prefix: vended credentials could not follow, and
 * Atoll's own writers (whose key reaches the whole lake) would write into another table's directory.
 */
export const LOCATION_PROPERTIES: readonly string[] = ['write.data.path', 'write.metadata.path', 'write.object-storage.path', 'write.folder-storage.path'];

/** Refuses the location properties among `properties`; `why` ends the message (what stays under the location). */
export function refuseLocationProperties(properties: Record<string, unknown>, why: string): void {
  const refused = Object.keys(properties).filter((k) => LOCATION_PROPERTIES.includes(k));
  if (refused.length > 0) throw bad(`properties ${refused.join(', ')} cannot be set: ${why}`);
}

/** set-properties / remove-properties on a table's or view's properties (in place); `refuse` checks what is set. */
export function changeProperties(
  properties: Record<string, string>,
  update: { action: 'set-properties'; updates: Record<string, string> } | { action: 'remove-properties'; removals: string[] },
  refuse: (set: Record<string, string>) => void,
): void {
  if (update.action === 'set-properties') {
    refuse(update.updates);
    Object.assign(properties, update.updates);
  } else {
    for (const k of update.removals) delete properties[k];
  }
}
