export { AtollError, errorCatalog, isAtollError, type ErrorBody, type ErrorCode } from './catalog.js';
export { registerErrorHandling, toErrorResponse } from './fastify.js';
export { isEnvironmentFailure } from './environment.js';
