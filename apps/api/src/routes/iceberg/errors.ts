// Errors of the Iceberg REST catalog in the Iceberg REST error model ({ error: { message, type, code } }), which
// Iceberg clients parse into their own exception types; Atoll's catalog codes are used everywhere else.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAtollError } from '@atoll/errors';
import { CommitConflictError, CorruptMetadataError, IcebergError, IdentifierTakenError, InvalidInputError, TableAlreadyExistsError, TableNotFoundError, UnsupportedTableError, ViewNotFoundError } from '@atoll/iceberg';

/** Exception type names the Iceberg REST spec and its clients (PyIceberg, Java) recognise. */
export type IcebergErrorType =
  | 'BadRequestException'
  /** 400 for an argument the reference implementation rejects with IllegalArgumentException; Iceberg Java rethrows it as such. */
  | 'IllegalArgumentException'
  | 'NotAuthorizedException'
  | 'ForbiddenException'
  | 'NoSuchNamespaceException'
  | 'NoSuchTableException'
  | 'NoSuchViewException'
  | 'NotFoundException'
  | 'AlreadyExistsException'
  | 'NamespaceNotEmptyException'
  | 'CommitFailedException'
  | 'UnsupportedOperationException'
  | 'ServiceUnavailableException'
  | 'ServerErrorException';

const statusOf: Record<IcebergErrorType, number> = {
  BadRequestException: 400,
  IllegalArgumentException: 400,
  NotAuthorizedException: 401,
  ForbiddenException: 403,
  NoSuchNamespaceException: 404,
  NoSuchTableException: 404,
  NoSuchViewException: 404,
  NotFoundException: 404,
  AlreadyExistsException: 409,
  NamespaceNotEmptyException: 409,
  CommitFailedException: 409,
  UnsupportedOperationException: 406,
  ServiceUnavailableException: 503,
  ServerErrorException: 500,
};

export class IcebergRestError extends Error {
  readonly type: IcebergErrorType;
  readonly status: number;

  constructor(type: IcebergErrorType, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IcebergRestError';
    this.type = type;
    this.status = statusOf[type];
  }

  toBody(): IcebergErrorBody {
    return { error: { message: this.message, type: this.type, code: this.status } };
  }
}

export interface IcebergErrorBody {
  error: { message: string; type: string; code: number; stack?: string[] };
}

export const badRequest = (message: string): IcebergRestError => new IcebergRestError('BadRequestException', message);
export const forbidden = (message: string): IcebergRestError => new IcebergRestError('ForbiddenException', message);
export const commitFailed = (message: string): IcebergRestError => new IcebergRestError('CommitFailedException', message);

// Messages worded as Iceberg's own catalogs word them ("Table does not exist: ns.t"): clients and Iceberg's REST
// Compatibility Kit match on these prefixes.
export const noSuchTable = (named: string): IcebergRestError => new IcebergRestError('NoSuchTableException', `Table does not exist: ${named}`);
export const tableAlreadyExists = (named: string, detail?: string): IcebergRestError =>
  new IcebergRestError('AlreadyExistsException', `Table already exists: ${named}${detail ? ` (${detail})` : ''}`);
export const noSuchView = (named: string): IcebergRestError => new IcebergRestError('NoSuchViewException', `View does not exist: ${named}`);
export const viewAlreadyExists = (named: string): IcebergRestError => new IcebergRestError('AlreadyExistsException', `View already exists: ${named}`);
/** Tables and views share one identifier space: creating one where the other is names the holder, as Iceberg's catalogs do. */
export const tableHoldsName = (named: string): IcebergRestError => new IcebergRestError('AlreadyExistsException', `Table with same name already exists: ${named}`);
export const viewHoldsName = (named: string): IcebergRestError => new IcebergRestError('AlreadyExistsException', `View with same name already exists: ${named}`);
export const renameTargetExists = (from: string, to: string, holder: 'table' | 'view'): IcebergRestError =>
  new IcebergRestError('AlreadyExistsException', `Cannot rename ${from} to ${to}. ${holder === 'view' ? 'View' : 'Table'} already exists`);
export const namespaceAlreadyExists = (named: string): IcebergRestError => new IcebergRestError('AlreadyExistsException', `Namespace already exists: ${named}`);
export const namespaceNotEmpty = (named: string): IcebergRestError => new IcebergRestError('NamespaceNotEmptyException', `Namespace ${named} is not empty: it still holds tables or views`);

/** Maps anything thrown under /iceberg to the REST error model; unknown errors become a 500 with a correlation id. */
export function toIcebergError(error: unknown, requestId: string): { err: IcebergRestError; internal: boolean } {
  if (error instanceof IcebergRestError) return { err: error, internal: false };
  if (isAtollError(error)) {
    // Authentication and role checks come from the shared auth hooks, which speak Atoll's catalog.
    const type: IcebergErrorType =
      error.status === 401 ? 'NotAuthorizedException' : error.status === 403 ? 'ForbiddenException' : error.status === 404 ? 'NotFoundException' : error.status === 409 ? 'CommitFailedException' : error.status >= 500 ? 'ServerErrorException' : 'BadRequestException';
    return { err: new IcebergRestError(type, error.message), internal: false };
  }
  if (error instanceof TableNotFoundError) return { err: new IcebergRestError('NoSuchTableException', error.message), internal: false };
  if (error instanceof ViewNotFoundError) return { err: new IcebergRestError('NoSuchViewException', error.message), internal: false };
  if (error instanceof IdentifierTakenError) return { err: new IcebergRestError('AlreadyExistsException', error.message), internal: false };
  if (error instanceof TableAlreadyExistsError) return { err: new IcebergRestError('AlreadyExistsException', error.message), internal: false };
  if (error instanceof CommitConflictError) return { err: commitFailed(error.message), internal: false };
  if (error instanceof InvalidInputError || error instanceof UnsupportedTableError) return { err: badRequest(error.message), internal: false };
  if (error instanceof CorruptMetadataError) {
    // The stored table is broken, not the request: a server error that still says which file and why.
    return { err: new IcebergRestError('ServerErrorException', error.message), internal: false };
  }
  if (error instanceof IcebergError) return { err: badRequest(error.message), internal: false };
  const fe = error as FastifyError;
  if (fe.validation) return { err: badRequest(`the request does not match its schema: ${fe.message}`), internal: false };
  if (error instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { err: badRequest(`the body is not valid JSON: ${fe.message}`), internal: false };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { err: badRequest(fe.message), internal: false };
  return { err: new IcebergRestError('ServerErrorException', `an internal error occurred (correlation id ${requestId})`), internal: true };
}

export function registerIcebergErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { err, internal } = toIcebergError(error, request.id);
    if (internal) request.log.error({ err: error, op: 'iceberg.error.internal' }, 'unhandled error');
    else request.log.info({ type: err.type, status: err.status, op: 'iceberg.error' }, err.message);
    return reply.status(err.status).type('application/json').send(err.toBody());
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const err = new IcebergRestError('NotFoundException', `no such route: ${request.method} ${request.url.split('?')[0]}`);
    return reply.status(err.status).send(err.toBody());
  });
}
