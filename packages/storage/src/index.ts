export * from './object-store.js';
export * from './policies.js';
export * from './admin/index.js';
export * from './bulk-keys.js';
export * from './vended-credentials.js';
