export { KekError, KeyEncryptionKeys, keysFromConfig, legacyKey, type KeyEncryptionKeysOptions, type LegacyKey, type LegacySeal } from './envelope.js';
