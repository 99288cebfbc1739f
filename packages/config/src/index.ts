export { loadConfig, ConfigError, type ConfigIssue } from './load.js';
export * from './schemas.js';
