// What the api answers on a connection it gives up on before routing (Node's `clientError`): a request that did not
// arrive within ATOLL_REQUEST_TIMEOUT_MS, oversized headers, unparsable HTTP — in the SPEC error shape, then closes.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { AtollError, type ErrorCode } from '@atoll/errors';

function codeFor(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  return 'BAD_REQUEST';
}

export function requestTimeoutResponder(this: FastifyInstance, error: Error, socket: Socket): void {
  // Node's clientError: an errno-style code, and the bytes it had read when it could parse that far.
  const err = error as NodeJS.ErrnoException & { rawPacket?: Buffer };
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = new AtollError(codeFor(err));
  this.log.info({ op: 'http.client_error', code: e.code }, e.message);
  if (socket.writable) {
    // The catalog's clients expect the Iceberg REST error model: tell by the request line, when Node kept it.
    const iceberg = /^[A-Z]+ \/iceberg\//.test(err.rawPacket?.subarray(0, 64).toString('latin1') ?? '');
    const body = JSON.stringify(iceberg ? { error: { message: e.message, type: 'BadRequestException', code: e.status } } : e.toBody());
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * Node's server options that make ATOLL_REQUEST_TIMEOUT_MS hold: Node only applies `requestTimeout` when it is at least
 * `headersTimeout` (60 s by default), and looks for late requests every `connectionsCheckingInterval` (30 s by default).
 */
export function serverTimeouts(requestTimeoutMs: number): { headersTimeout: number; connectionsCheckingInterval: number } {
  return { headersTimeout: Math.min(60_000, requestTimeoutMs), connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(requestTimeoutMs / 4))) };
}
