export * from './keycloak.js';
export * from './tid.js';
