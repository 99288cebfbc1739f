export * from './keycloak.js';
export * from './tid.js';
export * from './signing-keys.js';
export * from './device-keys.js';
export * from './device-tokens.js';
export * from './step-up.js';
export * from './realm-setup.js';
