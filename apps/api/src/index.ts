// The api as a library: the app factory and its dependencies, for tests and embedding.
export { buildApp } from './app.js';
export { createDeps, type ApiDeps, type Config } from './deps.js';
export { rotateKek, type KekRotation } from './rotate-kek.js';
export { registerRateLimits } from './http/rate-limit.js';
export { apiUploadKey } from './uploads/batcher.js';
