// Public surface of @atoll/licensing: license documents, signatures, the transparency log and the license index.
export * from './live.js';
export * from './agreements.js';
export * from './merkle.js';
export * from './note.js';
export * from './document.js';
export * from './entries.js';
export * from './keys.js';
export * from './log.js';
export * from './service.js';
export * from './verify.js';
