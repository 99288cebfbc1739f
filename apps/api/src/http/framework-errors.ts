// Errors Fastify raises while routing, before any scope's error handler can see them (a path parameter past
// maxParamLength, a malformed URL): answered in the error model of the API the path belongs to.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from '@atoll/errors';
import { toIcebergError } from '../routes/iceberg/errors.js';

export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (request.url.startsWith('/iceberg/')) {
    const { err } = toIcebergError(error, request.id);
    void reply.status(err.status).type('application/json').send(err.toBody());
    return;
  }
  const { status, body } = toErrorResponse(error, request.id);
  void reply.status(status).type('application/json').send(body);
}
