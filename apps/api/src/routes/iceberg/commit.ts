// Table commits of the REST catalog, as far as HTTP goes: the body parsed into the spec's requirement and update types
// and the package's errors put in the REST error model. Checking requirements, applying updates, refusing files
// outside the table and the compare-and-swap are @atoll/iceberg's commit engine — the loop Atoll's writers use, so
// REST clients and Atoll's writers serialize on one pointer. The route (tables.ts) authorizes before calling here.
import {
  CommitConflictError,
  InvalidInputError,
  commitTableUpdates,
  parseTableRequirement,
  parseTableUpdate,
  type CatalogStore,
  type ObjectIO,
  type TableIdentifier,
  type TableMetadata,
  type TableRequirement,
  type TableUpdate,
} from '@atoll/iceberg';
import { badRequest, commitFailed } from './errors.js';

export { LOCATION_PROPERTIES, checkProperties } from '@atoll/iceberg';

/** The body of POST …/tables/{table}, parsed (TypeBox cannot type 64-bit ids, which arrive as bigint). */
export interface CommitRequest {
  requirements: TableRequirement[];
  updates: TableUpdate[];
}

/** Package errors as the REST error model names them: a conflict is 409 (the client reloads), bad input 400. */
function restError(err: unknown): unknown {
  if (err instanceof CommitConflictError) return commitFailed(err.message);
  if (err instanceof InvalidInputError) return badRequest(err.message);
  return err;
}

export function parseCommitRequest(body: unknown): CommitRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the commit body must be an object');
  const { requirements = [], updates } = body as { requirements?: unknown; updates?: unknown };
  if (!Array.isArray(requirements)) throw badRequest('requirements must be an array of objects');
  if (!Array.isArray(updates)) throw badRequest('updates must be an array of objects');
  try {
    return {
      requirements: requirements.map((r, i) => parseTableRequirement(r, `requirements[${i}]`)),
      updates: updates.map((u, i) => parseTableUpdate(u, `updates[${i}]`)),
    };
  } catch (err) {
    throw restError(err);
  }
}

export interface RestCommitResult {
  metadataLocation: string;
  metadata: TableMetadata;
}

/**
 * Commits through the package engine. Files of lost attempts stay for orphan-file maintenance: the api may not
 * delete lake objects.
 */
export async function commitTable(opts: { io: ObjectIO; catalog: CatalogStore; id: TableIdentifier; request: CommitRequest }): Promise<RestCommitResult> {
  try {
    const { table } = await commitTableUpdates({ io: opts.io, catalog: opts.catalog, id: opts.id, ...opts.request, keepLostFiles: true });
    return { metadataLocation: table.metadataLocation, metadata: table.metadata };
  } catch (err) {
    throw restError(err);
  }
}
