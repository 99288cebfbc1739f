// Error classes the Iceberg package throws; each carries a stable `code` so @atoll/errors can map it to HTTP.

/** Base class: lets callers catch everything this package throws on purpose with one `instanceof`. */
export class IcebergError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class TableNotFoundError extends IcebergError {
  constructor(table: string, options?: { cause?: unknown }) {
    super('ICEBERG_TABLE_NOT_FOUND', `Iceberg table ${table} does not exist in the catalog`, options);
  }
}

export class TableAlreadyExistsError extends IcebergError {
  constructor(table: string, detail?: string) {
    super('ICEBERG_TABLE_EXISTS', `Iceberg table ${table} already exists${detail ? `: ${detail}` : ''}`);
  }
}

export class ViewNotFoundError extends IcebergError {
  constructor(view: string, options?: { cause?: unknown }) {
    super('ICEBERG_VIEW_NOT_FOUND', `View does not exist: ${view}`, options);
  }
}

/** A table or view already holds the identifier (they share one identifier space); `holder` says which. */
export class IdentifierTakenError extends IcebergError {
  readonly holder: 'table' | 'view';
  constructor(identifier: string, holder: 'table' | 'view') {
    super('ICEBERG_IDENTIFIER_TAKEN', holder === 'view' ? `View already exists: ${identifier}` : `Table with same name already exists: ${identifier}`);
    this.holder = holder;
  }
}

/** The commit could not be applied: retries ran out, or the table changed in a way the operation cannot rebase over. */
export class CommitConflictError extends IcebergError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ICEBERG_COMMIT_CONFLICT', message, options);
  }
}

/** A metadata JSON, manifest list or manifest could not be read or does not follow the spec. */
export class CorruptMetadataError extends IcebergError {
  readonly location: string;
  constructor(location: string, problem: string, options?: { cause?: unknown }) {
    super('ICEBERG_CORRUPT_METADATA', `Corrupt Iceberg metadata at ${location}: ${problem}`, options);
    this.location = location;
  }
}

/** A valid table uses something this implementation does not support (format version, delete files, codec…). */
export class UnsupportedTableError extends IcebergError {
  constructor(message: string) {
    super('ICEBERG_UNSUPPORTED', message);
  }
}

/** The caller passed something invalid (schema, partition spec, data file, identifier). */
export class InvalidInputError extends IcebergError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ICEBERG_INVALID_INPUT', message, options);
  }
}

/** A schema change the Iceberg spec does not allow (type narrowing, a new required column, a name clash…). */
export class SchemaEvolutionError extends InvalidInputError {}

/** An ObjectIO read of a key that does not exist. ObjectIO implementations should throw this (or set code 'NotFound'). */
export class ObjectNotFoundError extends IcebergError {
  readonly uri: string;
  constructor(uri: string, options?: { cause?: unknown }) {
    super('OBJECT_NOT_FOUND', `Object ${uri} does not exist`, options);
    this.uri = uri;
  }
}

/** An ObjectIO conditional write (If-None-Match: *) found the key already present. */
export class ObjectAlreadyExistsError extends IcebergError {
  readonly uri: string;
  constructor(uri: string, options?: { cause?: unknown }) {
    super('OBJECT_ALREADY_EXISTS', `Object ${uri} already exists`, options);
    this.uri = uri;
  }
}

function errorFields(err: unknown): { name?: unknown; code?: unknown; statusCode?: unknown; status?: unknown } {
  return typeof err === 'object' && err !== null ? (err) : {};
}

/** True for "already exists" from any ObjectIO, including S3 clients that surface HTTP 412 their own way. */
export function isObjectAlreadyExists(err: unknown): boolean {
  if (err instanceof ObjectAlreadyExistsError) return true;
  const e = errorFields(err);
  return (
    e.code === 'OBJECT_ALREADY_EXISTS' ||
    e.code === 'PreconditionFailed' ||
    e.code === 'EEXIST' ||
    e.name === 'PreconditionFailed' ||
    e.statusCode === 412 ||
    e.status === 412
  );
}

/** True for "no such object" from any ObjectIO (ours, S3 NoSuchKey/404, or a raw ENOENT). */
export function isObjectNotFound(err: unknown): boolean {
  if (err instanceof ObjectNotFoundError) return true;
  const e = errorFields(err);
  return (
    e.code === 'OBJECT_NOT_FOUND' ||
    e.code === 'NoSuchKey' ||
    e.code === 'NotFound' ||
    e.code === 'ENOENT' ||
    e.name === 'NoSuchKey' ||
    e.statusCode === 404 ||
    e.status === 404
  );
}
