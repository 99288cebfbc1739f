// The one Fastify error handler: catalog errors keep their status; validation and parser errors map to catalog codes;
// anything else becomes a 500 with a correlation id, logged with its cause.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AtollError, type ErrorBody } from './catalog.js';

function fromFastifyError(error: FastifyError): AtollError | null {
  if (error.validation) {
    return new AtollError('VALIDATION_FAILED', error.message, { details: { validation: error.validation } });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AtollError('UNSUPPORTED_MEDIA_TYPE', error.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AtollError('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AtollError('URI_TOO_LONG');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AtollError('MALFORMED_JSON', error.message);
    default:
      break;
  }
  // The client closed the connection mid-body (or the request timed out): nobody reads the answer, but it is not ours.
  if (error.code === 'ECONNRESET' && error.statusCode === 400) return new AtollError('BAD_REQUEST', 'the request was aborted before its body arrived');
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new AtollError('MALFORMED_JSON', error.message);
  }
  if (typeof error.statusCode === 'number' && error.statusCode === 413) return new AtollError('PAYLOAD_TOO_LARGE');
  if (typeof error.statusCode === 'number' && error.statusCode === 415) {
    return new AtollError('UNSUPPORTED_MEDIA_TYPE', error.message);
  }
  // Any other refusal Fastify itself raises (e.g. a QUERY request without Content-Type) is the caller's error, not a 500.
  if (typeof error.code === 'string' && error.code.startsWith('FST_') && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new AtollError('BAD_REQUEST', error.message);
  }
  return null;
}

export function toErrorResponse(error: unknown, requestId: string): { status: number; body: ErrorBody; internal: boolean } {
  const known = error instanceof AtollError ? error : fromFastifyError(error as FastifyError);
  if (known) return { status: known.status, body: known.toBody(), internal: false };
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'an internal error occurred', details: { correlationId: requestId } } },
    internal: true,
  };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal } = toErrorResponse(error, request.id);
    if (internal) request.log.error({ err: error, op: 'http.error.internal' }, 'unhandled error');
    else request.log.info({ code: body.error.code, status, op: 'http.error' }, body.error.message);
    return reply.status(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const e = new AtollError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
    return reply.status(e.status).send(e.toBody());
  });
}
